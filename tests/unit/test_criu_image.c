/*
 * Unit tests for criu_image: which memory areas are marked mergeable, and
 * the rewrite of an mm image, checked by decoding the result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "criu_image.h"

#define ANON_PRIVATE ((1u << 0) | (1u << 9))
#define FILE_PRIVATE ((1u << 0) | (1u << 6))
#define VDSO ((1u << 0) | (1u << 3) | (1u << 9))
#define MERGEABLE 0x1000u

static void
varint(struct buf *b, uint64_t v)
{
	do {
		unsigned char c = (unsigned char)(v & 0x7f);

		v >>= 7;
		if (v != 0)
			c |= 0x80;
		buf_append(b, &c, 1);
	} while (v != 0);
}

static void
field(struct buf *b, unsigned num, uint64_t v)
{
	varint(b, (uint64_t)num << 3);
	varint(b, v);
}

/* A vma_entry; madv < 0: none recorded. */
static void
vma(struct buf *mm, uint64_t start, uint32_t prot, uint32_t status, long long madv)
{
	struct buf v;

	buf_init(&v, 1024);
	field(&v, 1, start);
	field(&v, 2, start + 4096);
	field(&v, 3, 0);
	field(&v, 4, 0);
	field(&v, 5, prot);
	field(&v, 6, 0x22);
	field(&v, 7, status);
	varint(&v, (8u << 3));
	varint(&v, 1); /* fd = -1, zigzag */
	if (madv >= 0)
		field(&v, 9, (uint64_t)madv);
	varint(mm, (14u << 3) | 2);
	varint(mm, v.len);
	buf_append(mm, v.data, v.len);
	buf_free(&v);
}

static void
le32(struct buf *b, uint32_t v)
{
	unsigned char p[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 24)};

	buf_append(b, p, 4);
}

/* An mm image: magics, one mm_entry with a few scalar fields, a saved
 * auxv word and the four areas below. */
static void
image(struct buf *img)
{
	struct buf mm;

	buf_init(&mm, 1 << 16);
	field(&mm, 1, 0x400000);
	field(&mm, 12, 7);
	varint(&mm, (13u << 3) | 1); /* a fixed64 the rewrite must copy as it is */
	buf_append(&mm, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	vma(&mm, 0x1000, 0x3, ANON_PRIVATE, -1);
	vma(&mm, 0x2000, 0x5, VDSO, -1);
	vma(&mm, 0x3000, 0x5, FILE_PRIVATE, -1);
	vma(&mm, 0x4000, 0x3, FILE_PRIVATE, 0x10000);
	field(&mm, 15, 1);
	le32(img, 0x54564319u);
	le32(img, 0x57492820u);
	le32(img, (uint32_t)mm.len);
	buf_append(img, mm.data, mm.len);
	buf_free(&mm);
}

static uint64_t
get_varint(const unsigned char **p)
{
	uint64_t v = 0;
	int shift = 0;

	while (**p & 0x80) {
		v |= (uint64_t)(**p & 0x7f) << shift;
		shift += 7;
		(*p)++;
	}
	v |= (uint64_t) * *p << shift;
	(*p)++;
	return v;
}

/* The madv each vma ends up with (the last field 9; -1 = none), in order. */
static int
decode_madv(const struct buf *img, long long *madv, int max)
{
	const unsigned char *p = (const unsigned char *)img->data + 12, *end;
	uint32_t len = (uint32_t)(unsigned char)img->data[8] | (uint32_t)(unsigned char)img->data[9]
								   << 8;
	int n = 0;

	end = p + len;
	assert_int_equal(img->len, 12 + len);
	while (p < end) {
		uint64_t key = get_varint(&p);

		if ((key & 7) == 0) {
			get_varint(&p);
		} else if ((key & 7) == 1) {
			p += 8;
		} else {
			uint64_t l = get_varint(&p);
			const unsigned char *v = p, *vend = p + l;

			assert_int_equal(key >> 3, 14);
			assert_true(n < max);
			madv[n] = -1;
			while (v < vend) {
				uint64_t k = get_varint(&v), x = get_varint(&v);

				if (k >> 3 == 9)
					madv[n] = (long long)x;
			}
			n++;
			p = vend;
		}
	}
	return n;
}

static void
test_which_areas(void **state)
{
	(void)state;
	assert_true(criu_vma_mergeable(ANON_PRIVATE, 0x3));
	assert_true(criu_vma_mergeable(ANON_PRIVATE | (1u << 5) /* heap */, 0x3));
	assert_true(criu_vma_mergeable(FILE_PRIVATE, 0x3));
	assert_false(criu_vma_mergeable(FILE_PRIVATE, 0x5)); /* text: page cache, not anon */
	assert_false(criu_vma_mergeable(VDSO, 0x5));
	assert_false(criu_vma_mergeable((1u << 0) | (1u << 2) | (1u << 9), 0x5));  /* vsyscall */
	assert_false(criu_vma_mergeable((1u << 0) | (1u << 12) | (1u << 9), 0x1)); /* vvar */
	assert_false(criu_vma_mergeable((1u << 0) | (1u << 8), 0x3));		   /* shared anon */
	assert_false(criu_vma_mergeable((1u << 0) | (1u << 7), 0x3));		   /* shared file */
	assert_false(criu_vma_mergeable((1u << 9), 0x3)); /* not a regular area */
}

static void
test_rewrite(void **state)
{
	struct buf in, out, again;
	long long madv[8];
	char err[256];
	int marked = -1;

	(void)state;
	buf_init(&in, 1 << 16);
	buf_init(&out, 1 << 16);
	buf_init(&again, 1 << 16);
	image(&in);
	assert_int_equal(decode_madv(&in, madv, 8), 4);
	assert_int_equal(criu_mm_mark_mergeable((unsigned char *)in.data, in.len, &out, &marked,
						err, sizeof(err)),
			 0);
	assert_int_equal(marked, 2);
	assert_int_equal(decode_madv(&out, madv, 8), 4);
	assert_int_equal(madv[0], MERGEABLE);
	assert_int_equal(madv[1], -1);
	assert_int_equal(madv[2], -1);
	assert_int_equal(madv[3], 0x10000 | MERGEABLE); /* what was there is kept */
	/* Everything but the vmas is copied byte for byte: the head, and the
	 * mm_entry's first fields up to the first vma. */
	assert_memory_equal(out.data, in.data, 8);
	assert_memory_equal(out.data + 12, in.data + 12, 5 + 2 + 9 + 1);
	/* Marking twice changes nothing more. */
	assert_int_equal(criu_mm_mark_mergeable((unsigned char *)out.data, out.len, &again, &marked,
						err, sizeof(err)),
			 0);
	assert_int_equal(marked, 2);
	assert_int_equal(decode_madv(&again, madv, 8), 4);
	assert_int_equal(madv[0], MERGEABLE);
	assert_int_equal(madv[3], 0x10000 | MERGEABLE);
	buf_free(&in);
	buf_free(&out);
	buf_free(&again);
}

static void
test_bad_images(void **state)
{
	struct buf in, out;
	char err[256];
	int marked;

	(void)state;
	buf_init(&in, 1 << 16);
	image(&in);
	/* wrong magic */
	in.data[4] ^= 1;
	buf_init(&out, 1 << 16);
	assert_int_equal(criu_mm_mark_mergeable((unsigned char *)in.data, in.len, &out, &marked,
						err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "magic"));
	in.data[4] ^= 1;
	/* an entry longer than the file */
	buf_free(&out);
	buf_init(&out, 1 << 16);
	assert_int_equal(criu_mm_mark_mergeable((unsigned char *)in.data, in.len - 5, &out, &marked,
						err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "past the end"));
	/* a length-delimited field that runs past its message */
	buf_free(&out);
	buf_init(&out, 1 << 16);
	in.data[12 + 5 + 2 + 9 + 1] = 0x7f;
	assert_int_equal(criu_mm_mark_mergeable((unsigned char *)in.data, in.len, &out, &marked,
						err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "not a valid mm_entry"));
	/* a truncated header */
	buf_free(&out);
	buf_init(&out, 1 << 16);
	assert_int_equal(
	    criu_mm_mark_mergeable((unsigned char *)in.data, 10, &out, &marked, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "truncated"));
	buf_free(&out);
	buf_free(&in);
}

static void
test_directory(void **state)
{
	char dir[] = "/tmp/demux-criu.XXXXXX", path[128], err[256];
	struct buf in;
	int marked;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(criu_images_mark_mergeable(dir, &marked, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no CRIU mm images"));
	buf_init(&in, 1 << 16);
	image(&in);
	snprintf(path, sizeof(path), "%s/mm-42.img", dir);
	f = fopen(path, "wb");
	fwrite(in.data, 1, in.len, f);
	fclose(f);
	assert_int_equal(criu_images_mark_mergeable(dir, &marked, err, sizeof(err)), 0);
	assert_int_equal(marked, 2);
	buf_free(&in);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0); /* no temporary file left */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_which_areas),
	    cmocka_unit_test(test_rewrite),
	    cmocka_unit_test(test_bad_images),
	    cmocka_unit_test(test_directory),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
