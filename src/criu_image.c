/*
 * criu_image — the one change demux makes to a checkpoint's CRIU images:
 * marking the private memory of every process mergeable (MADV_MERGEABLE),
 * so that the kernel's same-page merging (KSM) can share the pages that the
 * copies of one checkpoint hold alike.
 *
 * CRIU records each memory area's madvise flags in its mm-<pid>.img
 * (vma_entry.madv, field 9) and its restorer applies them; a flag set here
 * is applied to every restored copy. An mm image is the common image magic,
 * the mm magic, then one entry: a little-endian 32-bit length and a
 * protobuf mm_entry whose field 14 repeats the vma_entry messages. Each
 * marked vma_entry gets a madv field appended: protobuf keeps the last
 * value of a repeated scalar field, so nothing else needs rewriting.
 */
#include "criu_image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "errf.h"

#define IMG_COMMON_MAGIC 0x54564319u
#define MM_MAGIC 0x57492820u
#define MM_IMAGE_MAX (64u << 20)
#define MADV_MERGEABLE_BIT (1ull << 12)

/* vma_entry.status bits (criu/include/image.h). */
#define VMA_AREA_REGULAR (1u << 0)
#define VMA_AREA_VSYSCALL (1u << 2)
#define VMA_AREA_VDSO (1u << 3)
#define VMA_FILE_PRIVATE (1u << 6)
#define VMA_ANON_PRIVATE (1u << 9)
#define VMA_SPECIAL                                                                                \
	(VMA_AREA_VSYSCALL | VMA_AREA_VDSO | (1u << 10) /* SYSVIPC */ | (1u << 11) /* SOCKET */ |  \
	 (1u << 12) /* VVAR */ | (1u << 13) /* AIORING */ | (1u << 14) /* MEMFD */ |               \
	 (1u << 15) /* SHSTK */ | (1u << 16) /* GUARD */ | (1u << 17) /* UPROBES */ |              \
	 (1u << 27) /* EXT_PLUGIN */ | (1u << 31) /* UNSUPP */)
#define PROT_WRITE_BIT 0x2u

struct reader {
	const unsigned char *p, *end;
};

static int
read_varint(struct reader *r, uint64_t *v)
{
	uint64_t x = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return -1;
		x |= (uint64_t)(*r->p & 0x7f) << shift;
		if ((*r->p++ & 0x80) == 0) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

static int
put_varint(struct buf *out, uint64_t v)
{
	unsigned char b[10];
	size_t n = 0;

	do {
		b[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			b[n] |= 0x80;
		n++;
	} while (v != 0);
	return buf_append(out, b, n);
}

/* Skips one field's value of the given wire type; *start..r->p is then the
 * value's bytes (for type 2 the payload, after its length). */
static int
skip_value(struct reader *r, unsigned wire, const unsigned char **start, uint64_t *varint)
{
	uint64_t len;

	*start = r->p;
	switch (wire) {
	case 0:
		return read_varint(r, varint);
	case 1:
		if (r->end - r->p < 8)
			return -1;
		r->p += 8;
		return 0;
	case 2:
		if (read_varint(r, &len) == -1 || len > (uint64_t)(r->end - r->p))
			return -1;
		*start = r->p;
		r->p += len;
		return 0;
	case 5:
		if (r->end - r->p < 4)
			return -1;
		r->p += 4;
		return 0;
	default:
		return -1;
	}
}

bool
criu_vma_mergeable(uint32_t status, uint32_t prot)
{
	if ((status & VMA_AREA_REGULAR) == 0 || (status & VMA_SPECIAL) != 0)
		return false;
	if (status & VMA_ANON_PRIVATE)
		return true;
	return (status & VMA_FILE_PRIVATE) != 0 && (prot & PROT_WRITE_BIT) != 0;
}

/* One vma_entry: copied, with madv appended when it is to be marked. */
static int
rewrite_vma(const unsigned char *msg, size_t len, struct buf *out, int *marked)
{
	struct reader r = {msg, msg + len};
	uint64_t key, v = 0, status = 0, prot = 0, madv = 0;
	const unsigned char *start;
	struct buf vma;
	int ret = -1;

	while (r.p < r.end) {
		if (read_varint(&r, &key) == -1 || skip_value(&r, key & 7, &start, &v) == -1)
			return -1;
		if ((key & 7) != 0)
			continue;
		if (key >> 3 == 5)
			prot = v;
		else if (key >> 3 == 7)
			status = v;
		else if (key >> 3 == 9)
			madv = v;
	}
	buf_init(&vma, len + 16);
	if (buf_append(&vma, msg, len) == -1)
		goto out;
	if (criu_vma_mergeable((uint32_t)status, (uint32_t)prot)) {
		if (buf_append(&vma, "\x48", 1) == -1 ||
		    put_varint(&vma, madv | MADV_MERGEABLE_BIT) == -1)
			goto out;
		(*marked)++;
	}
	if (put_varint(out, (14u << 3) | 2) == -1 || put_varint(out, vma.len) == -1 ||
	    buf_append(out, vma.data, vma.len) == -1)
		goto out;
	ret = 0;
out:
	buf_free(&vma);
	return ret;
}

static int
rewrite_mm_entry(const unsigned char *msg, size_t len, struct buf *out, int *marked)
{
	struct reader r = {msg, msg + len};
	const unsigned char *field, *start;
	uint64_t key, v;

	while (r.p < r.end) {
		field = r.p;
		if (read_varint(&r, &key) == -1 || skip_value(&r, key & 7, &start, &v) == -1)
			return -1;
		if (key == ((14u << 3) | 2)) {
			if (rewrite_vma(start, (size_t)(r.p - start), out, marked) == -1)
				return -1;
		} else if (buf_append(out, field, (size_t)(r.p - field)) == -1) {
			return -1;
		}
	}
	return 0;
}

static uint32_t
get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
set_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

int
criu_mm_mark_mergeable(const unsigned char *in, size_t inlen, struct buf *out, int *marked,
		       char *err, size_t errlen)
{
	size_t off = 8;

	*marked = 0;
	if (inlen < 8 || get_le32(in) != IMG_COMMON_MAGIC || get_le32(in + 4) != MM_MAGIC)
		return errf(err, errlen, "not a CRIU mm image (magic)");
	if (buf_append(out, in, 8) == -1)
		return errf(err, errlen, "mm image too large");
	while (off < inlen) {
		size_t len_at = out->len, body_at;
		unsigned char hdr[4] = {0};
		uint32_t len;

		if (inlen - off < 4)
			return errf(err, errlen, "mm image: truncated entry header");
		len = get_le32(in + off);
		off += 4;
		if (len > inlen - off)
			return errf(err, errlen, "mm image: entry of %u bytes past the end", len);
		if (buf_append(out, hdr, 4) == -1)
			return errf(err, errlen, "mm image too large");
		body_at = out->len;
		if (rewrite_mm_entry(in + off, len, out, marked) == -1)
			return errf(err, errlen, "mm image: entry is not a valid mm_entry");
		if (out->len - body_at > UINT32_MAX)
			return errf(err, errlen, "mm image too large");
		set_le32((unsigned char *)out->data + len_at, (uint32_t)(out->len - body_at));
		off += len;
	}
	return 0;
}

static int
mark_file(const char *path, int *marked, char *err, size_t errlen)
{
	struct buf in, out;
	char tmp[1100] = "", why[256];
	int fd = -1, ret = -1;

	buf_init(&out, MM_IMAGE_MAX + (1u << 20));
	if (buf_read_file(path, MM_IMAGE_MAX, &in, err, errlen) == -1)
		goto out;
	if (criu_mm_mark_mergeable((const unsigned char *)in.data, in.len, &out, marked, why,
				   sizeof(why)) == -1) {
		errf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errf(err, errlen, "%s: path too long", path);
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1 || write(fd, out.data, out.len) != (ssize_t)out.len || fsync(fd) == -1) {
		errf(err, errlen, "write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		fd = -1;
		errf(err, errlen, "rename %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (ret == -1 && tmp[0] != '\0')
		unlink(tmp);
	buf_free(&in);
	buf_free(&out);
	return ret;
}

int
criu_images_mark_mergeable(const char *dir, int *marked, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[1024];
	int n, files = 0, ret = -1;

	*marked = 0;
	if (d == NULL)
		return errf(err, errlen, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (strncmp(e->d_name, "mm-", 3) != 0 || l < 8 ||
		    strcmp(e->d_name + l - 4, ".img") != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path)) {
			errf(err, errlen, "%s: path too long", dir);
			goto out;
		}
		if (mark_file(path, &n, err, errlen) == -1)
			goto out;
		*marked += n;
		files++;
	}
	if (files == 0) {
		errf(err, errlen, "%s holds no CRIU mm images", dir);
		goto out;
	}
	ret = 0;
out:
	closedir(d);
	return ret;
}
