/*
 * progress.h - a transfer's progress bar on stderr: name, percentage and
 * bar (when the size is known), bytes, rate and time left, redrawn at most
 * ten times a second on one line. Drawn only when stderr is a terminal;
 * otherwise every call does nothing, so scripts and logs stay clean.
 */
#ifndef OP_CLI_PROGRESS_H
#define OP_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct progress {
    char name[64];
    uint64_t total;          /* expected final size, 0 when unknown */
    uint64_t offset;         /* bytes already there before (a resumed transfer) */
    uint64_t bytes;          /* now: offset + moved */
    uint64_t t0, last_draw;  /* ms */
    bool on;
};

/* Start a bar for name; total 0 when unknown, offset > 0 for a resume. */
void progress_begin(struct progress *p, const char *name, uint64_t offset, uint64_t total);
/* moved: bytes of this transfer so far (offset not included). */
void progress_update(struct progress *p, uint64_t moved);
/* Draw the last state and end the line. */
void progress_end(struct progress *p);

/* "12.3 MiB" style, into out[0 .. cap). */
void progress_size(uint64_t bytes, char *out, size_t cap);

#endif
