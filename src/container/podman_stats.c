/*
 * podman_stats — what Podman and CRIU report about a checkpoint or a restore,
 * read into struct checkpoint_stats and struct restore_stats (runtime.h).
 *
 * Podman answers a restore (and a checkpoint that is not exported) with JSON
 * statistics, in its REST form or its CLI's --print-stats form. An exported
 * checkpoint carries none: CRIU's own binary stats-dump image is read from
 * the archive instead. Everything here is pure except podman_archive_stats,
 * which reads the archive file it is given.
 */
#include "container/podman_stats.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Upper bound of the stats-dump member read from an archive (CRIU writes a
 * few dozen bytes). */
#define STATS_DUMP_MAX 4096

long long
podman_json_number(json_t *v)
{
	if (json_is_integer(v))
		return (long long)json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	if (json_is_string(v)) {
		char *end;
		long long n;

		errno = 0;
		n = strtoll(json_string_value(v), &end, 10);
		if (errno == 0 && *end == '\0')
			return n;
	}
	return 0;
}

static double
us_to_ms(json_t *v)
{
	return (double)podman_json_number(v) / 1000.0;
}

/* Podman's restore and checkpoint reports: either one container's report,
 * or {"podman_<what>_duration": µs, "container_statistics": [report]}. Sets
 * *root (the caller frees it), *rep and its *criu statistics. */
static int
stats_report(const char *json, const char *what, json_t **root, json_t **rep, json_t **criu,
	     double *podman_ms, char *err, size_t errlen)
{
	json_error_t jerr;
	char key[64];

	*root = json_loads(json, 0, &jerr);
	if (!json_is_object(*root)) {
		snprintf(err, errlen, "%s report is not a JSON object: %s", what, jerr.text);
		json_decref(*root);
		return -1;
	}
	*rep = *root;
	if (json_is_array(json_object_get(*root, "container_statistics"))) {
		snprintf(key, sizeof(key), "podman_%s_duration", what);
		*podman_ms = us_to_ms(json_object_get(*root, key));
		*rep = json_array_get(json_object_get(*root, "container_statistics"), 0);
	}
	*criu = json_object_get(*rep, "criu_statistics");
	if (!json_is_object(*criu)) {
		snprintf(err, errlen, "%s report has no criu_statistics", what);
		json_decref(*root);
		return -1;
	}
	return 0;
}

int
podman_parse_restore_stats(const char *json, struct restore_stats *out, char *err, size_t errlen)
{
	json_t *root, *rep, *criu;

	memset(out, 0, sizeof(*out));
	if (stats_report(json, "restore", &root, &rep, &criu, &out->podman_ms, err, errlen) == -1)
		return -1;
	out->runtime_ms = us_to_ms(json_object_get(rep, "runtime_restore_duration"));
	out->criu_ms = us_to_ms(json_object_get(criu, "restore_time"));
	out->pages_restored = podman_json_number(json_object_get(criu, "pages_restored"));
	json_decref(root);
	return 0;
}

int
podman_parse_checkpoint_stats(const char *json, struct checkpoint_stats *out, char *err,
			      size_t errlen)
{
	json_t *root, *rep, *criu;

	memset(out, 0, sizeof(*out));
	if (stats_report(json, "checkpoint", &root, &rep, &criu, &out->podman_ms, err, errlen) ==
	    -1)
		return -1;
	out->runtime_ms = us_to_ms(json_object_get(rep, "runtime_checkpoint_duration"));
	out->criu_ms = us_to_ms(json_object_get(criu, "freezing_time")) +
		       us_to_ms(json_object_get(criu, "frozen_time"));
	out->pages_written = podman_json_number(json_object_get(criu, "pages_written"));
	json_decref(root);
	return 0;
}

static int
read_varint(const unsigned char *p, size_t len, size_t *off, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*off >= len)
			return -1;
		*v |= (uint64_t)(p[*off] & 0x7f) << shift;
		if ((p[(*off)++] & 0x80) == 0)
			return 0;
	}
	return -1;
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * CRIU's stats-dump: two magics (IMG_SERVICE, STATS), a 32-bit length, then a
 * protobuf stats_entry whose field 1 is a dump_stats_entry: 1 freezing_time,
 * 2 frozen_time, 3 memdump_time, 4 memwrite_time (microseconds), 5
 * pages_scanned, 6 pages_skipped_parent, 7 pages_written, ... (varints).
 */
int
podman_parse_criu_dump_stats(const unsigned char *img, size_t len, struct checkpoint_stats *out,
			     char *err, size_t errlen)
{
	size_t off = 12, end, sub_end;
	uint64_t key, v, freezing = 0, frozen = 0;
	bool found = false;

	if (len < 12 || le32(img) != 0x55105940 || le32(img + 4) != 0x57093306) {
		snprintf(err, errlen, "not a CRIU stats image");
		return -1;
	}
	end = 12 + le32(img + 8);
	if (end > len) {
		snprintf(err, errlen, "CRIU stats image is truncated");
		return -1;
	}
	while (off < end) {
		if (read_varint(img, end, &off, &key) == -1)
			goto bad;
		if ((key & 7) == 0) {
			if (read_varint(img, end, &off, &v) == -1)
				goto bad;
			continue;
		}
		if ((key & 7) != 2 || read_varint(img, end, &off, &v) == -1 || v > end - off)
			goto bad;
		sub_end = off + (size_t)v;
		if (key >> 3 != 1) {
			off = sub_end;
			continue;
		}
		found = true;
		while (off < sub_end) {
			uint64_t f;

			if (read_varint(img, sub_end, &off, &f) == -1 || (f & 7) != 0 ||
			    read_varint(img, sub_end, &off, &v) == -1)
				goto bad;
			if (f >> 3 == 1)
				freezing = v;
			else if (f >> 3 == 2)
				frozen = v;
			else if (f >> 3 == 7)
				out->pages_written = (long long)v;
		}
	}
	if (!found) {
		snprintf(err, errlen, "CRIU stats image has no dump statistics");
		return -1;
	}
	out->criu_ms = (double)(freezing + frozen) / 1000.0;
	return 0;
bad:
	snprintf(err, errlen, "CRIU stats image is malformed");
	return -1;
}

/* Reads the member called want of an uncompressed tar file into out. */
static int
tar_read_member(FILE *f, const char *want, unsigned char *out, size_t outmax, size_t *outlen)
{
	unsigned char hdr[512];

	if (fseeko(f, 0, SEEK_SET) == -1)
		return -1;
	for (int i = 0; i < 100000; i++) {
		char name[101], *end;
		unsigned long long size;
		off_t skip;

		if (fread(hdr, 1, sizeof(hdr), f) != sizeof(hdr) || hdr[0] == '\0')
			return -1;
		memcpy(name, hdr, 100);
		name[100] = '\0';
		if (hdr[124] & 0x80)
			return -1; /* base-256 size: a member far larger than stats */
		{
			char field[13];

			memcpy(field, hdr + 124, 12);
			field[12] = '\0';
			size = strtoull(field, &end, 8);
		}
		if (strcmp(name, want) == 0 ||
		    (strncmp(name, "./", 2) == 0 && strcmp(name + 2, want) == 0)) {
			if (size > outmax)
				return -1;
			*outlen = fread(out, 1, (size_t)size, f);
			return *outlen == size ? 0 : -1;
		}
		skip = (off_t)((size + 511) / 512 * 512);
		if (fseeko(f, skip, SEEK_CUR) == -1)
			return -1;
	}
	return -1;
}

int
podman_archive_stats(FILE *f, struct checkpoint_stats *out, char *err, size_t errlen)
{
	unsigned char img[STATS_DUMP_MAX];
	size_t len = 0;

	if (tar_read_member(f, "stats-dump", img, sizeof(img), &len) == -1) {
		snprintf(err, errlen, "no CRIU statistics in the archive");
		return -1;
	}
	return podman_parse_criu_dump_stats(img, len, out, err, errlen);
}
