/*
 * aml.h — a tiny encoder for the ACPI Machine Language vmon puts in its DSDT
 * (ACPI 6.5 chapter 20): names, integers, strings, packages, devices, scopes,
 * resource-template buffers, and the few statements of vmon's methods
 * (Method, If, LEqual, Return, Notify), written into a caller-owned byte
 * buffer.
 *
 * Nested objects (Scope, Device, Package, Buffer) are built into their own
 * struct aml_buf and then wrapped, so that every PkgLength is encoded in its
 * minimal form. Errors (buffer full) are sticky: check aml_buf.error once at
 * the end.
 */
#ifndef VMON_ARCH_X86_AML_H
#define VMON_ARCH_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml_buf {
	uint8_t *p;
	size_t len, cap;
	bool error; /* set when a write did not fit */
};

/* aml_init - an empty buffer over @mem (@cap bytes). */
void aml_init(struct aml_buf *b, uint8_t *mem, size_t cap);

/* aml_bytes - append raw bytes (opcodes, resource descriptors). */
void aml_bytes(struct aml_buf *b, const void *data, size_t len);

/* aml_integer - the shortest integer encoding of @v (ZeroOp, OneOp, Byte..QWordPrefix). */
void aml_integer(struct aml_buf *b, uint64_t v);

/* aml_name - Name(@seg, <integer @v>); @seg is a 4-character NameSeg ("_UID"). */
void aml_name_integer(struct aml_buf *b, const char seg[4], uint64_t v);

/* aml_name_eisaid - Name(@seg, EisaId(@id)), @id like "PNP0A08". */
void aml_name_eisaid(struct aml_buf *b, const char seg[4], const char id[7]);

/* aml_name_buffer - Name(@seg, Buffer() { @inner }), e.g. a _CRS resource template. */
void aml_name_buffer(struct aml_buf *b, const char seg[4], const struct aml_buf *inner);

/* aml_name_package - Name(@seg, Package(@count) { @inner }). */
void aml_name_package(struct aml_buf *b, const char seg[4], unsigned count,
		      const struct aml_buf *inner);

/* aml_package - an anonymous Package(@count) { @inner } (element of a package). */
void aml_package(struct aml_buf *b, unsigned count, const struct aml_buf *inner);

/* aml_device - Device(@seg) { @inner }. */
void aml_device(struct aml_buf *b, const char seg[4], const struct aml_buf *inner);

/* aml_scope - Scope(@path) { @inner }, @path a NameString such as "\\_SB_". */
void aml_scope(struct aml_buf *b, const char *path, const struct aml_buf *inner);

/* aml_name_string - Name(@seg, "@s"), a String object (_HID "ACPI0013", _DDN). */
void aml_name_string(struct aml_buf *b, const char seg[4], const char *s);

/*
 * aml_namestring - a NameString from a dotted path: "VGEN", "\\_SB_.VGEN"
 * (a leading backslash for the root, then 4-character segments joined by
 * '.'). A malformed path sets b->error.
 */
void aml_namestring(struct aml_buf *b, const char *path);

/*
 * aml_method - Method(@seg, @nargs (0..7), NotSerialized) { @body }; the
 * body is a TermList built with the statement encoders below.
 */
void aml_method(struct aml_buf *b, const char seg[4], unsigned nargs, const struct aml_buf *body);

/* aml_if - If (@predicate) { @body }; @predicate is one TermArg (e.g. from aml_lequal). */
void aml_if(struct aml_buf *b, const struct aml_buf *predicate, const struct aml_buf *body);

/* aml_lequal - LEqual(@lhs, @rhs), each one encoded TermArg. */
void aml_lequal(struct aml_buf *b, const struct aml_buf *lhs, const struct aml_buf *rhs);

/* aml_arg - ArgN (@n 0..6), a method's argument. */
void aml_arg(struct aml_buf *b, unsigned n);

/* aml_return - Return (@value), @value one encoded TermArg (an integer, a package). */
void aml_return(struct aml_buf *b, const struct aml_buf *value);

/* aml_notify - Notify (@path, @value): @path as for aml_namestring(). */
void aml_notify(struct aml_buf *b, const char *path, uint8_t value);

/* aml_eisaid - the 32-bit EISA ID encoding of "PNP0A08" (ACPI 6.5, 19.6.35). */
uint32_t aml_eisaid(const char id[7]);

#endif
