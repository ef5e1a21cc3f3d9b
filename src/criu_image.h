/*
 * criu_image — marks a checkpoint's private memory mergeable (KSM) in its
 * CRIU mm images; see the .c file for the format.
 */
#ifndef DEMUX_CRIU_IMAGE_H
#define DEMUX_CRIU_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Whether a memory area (vma_entry status and prot) is marked: private
 * anonymous memory and written private file mappings, never the kernel's
 * special areas (vDSO, vsyscall, ...), which madvise refuses. */
bool criu_vma_mergeable(uint32_t status, uint32_t prot);

/* Rewrites one mm image (in) into out (initialised by the caller) with
 * MADV_MERGEABLE added to every area criu_vma_mergeable accepts; *marked
 * counts them. -1 with the reason for anything that is not a valid image. */
int criu_mm_mark_mergeable(const unsigned char *in, size_t inlen, struct buf *out, int *marked,
			   char *err, size_t errlen);

/* Marks every mm-*.img in dir, each replaced atomically; *marked counts
 * the areas. */
int criu_images_mark_mergeable(const char *dir, int *marked, char *err, size_t errlen);

#endif
