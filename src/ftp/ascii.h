/*
 * ascii.h - internal to src/ftp: TYPE A's end-of-line conversion
 * (RFC 959 section 3.1.1.1: NVT-ASCII on the wire ends lines with CRLF;
 * files here end them with LF).
 *
 * Pure functions over (pointer, length) that never read past the end.
 * Sending turns every LF into CRLF; receiving turns every CRLF into LF and
 * keeps any other CR. The two are inverse: a file sent and stored back in
 * TYPE A is unchanged. A CR that ends one chunk of input may be the first
 * half of a CRLF split across reads: the receiving side keeps it in *cr
 * until the next chunk (or the end) says what it was.
 */
#ifndef OP_FTP_ASCII_H
#define OP_FTP_ASCII_H

#include <stdbool.h>
#include <stddef.h>

/* LF -> CRLF. dst has room for 2 * n bytes. Returns the bytes written. */
size_t ftp_ascii_encode(const char *src, size_t n, char *dst);

/* CRLF -> LF. dst has room for n + 1 bytes (a CR held from the previous
 * chunk that turns out not to start a CRLF is written out first). *cr is
 * the state between chunks: start with false. Returns the bytes written. */
size_t ftp_ascii_decode(const char *src, size_t n, char *dst, bool *cr);

/* The end of the input: a CR still held was a lone CR. dst has room for 1
 * byte. Returns the bytes written (0 or 1). */
size_t ftp_ascii_decode_end(char *dst, bool *cr);

#endif
