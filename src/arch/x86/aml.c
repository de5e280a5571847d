/* aml.c — minimal AML encoder (ACPI 6.5 chapter 20, "ACPI Machine Language Specification"). */
#include <string.h>

#include "arch/x86/aml.h"

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PFX 0x0A
#define AML_WORD_PFX 0x0B
#define AML_DWORD_PFX 0x0C
#define AML_QWORD_PFX 0x0E
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_STRING_PFX 0x0D
#define AML_METHOD_OP 0x14
#define AML_DUAL_NAME_PFX 0x2E
#define AML_MULTI_NAME_PFX 0x2F
#define AML_ROOT_CHAR 0x5C
#define AML_EXT_PFX 0x5B
#define AML_DEVICE_OP 0x82 /* after ExtOpPrefix */
#define AML_ARG0_OP 0x68
#define AML_NOTIFY_OP 0x86
#define AML_LEQUAL_OP 0x93
#define AML_IF_OP 0xA0
#define AML_RETURN_OP 0xA4

void aml_init(struct aml_buf *b, uint8_t *mem, size_t cap)
{
	b->p = mem;
	b->len = 0;
	b->cap = cap;
	b->error = false;
}

void aml_bytes(struct aml_buf *b, const void *data, size_t len)
{
	if (b->error || len > b->cap - b->len) {
		b->error = true;
		return;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void aml_u8(struct aml_buf *b, uint8_t v)
{
	aml_bytes(b, &v, 1);
}

/*
 * PkgLength (20.2.4) for a package whose contents after the PkgLength are
 * @body bytes: the encoded value counts the PkgLength bytes themselves.
 */
static void aml_pkglength(struct aml_buf *b, size_t body)
{
	size_t total;

	if (body + 1 < 0x40) {
		aml_u8(b, (uint8_t)(body + 1));
		return;
	}
	for (unsigned extra = 1; extra <= 3; extra++) {
		total = body + 1 + extra;
		if (total < (1ull << (4 + 8 * extra))) {
			aml_u8(b, (uint8_t)((extra << 6) | (total & 0xF)));
			for (unsigned i = 0; i < extra; i++)
				aml_u8(b, (uint8_t)(total >> (4 + 8 * i)));
			return;
		}
	}
	b->error = true;
}

void aml_integer(struct aml_buf *b, uint64_t v)
{
	if (v == 0) {
		aml_u8(b, AML_ZERO_OP);
	} else if (v == 1) {
		aml_u8(b, AML_ONE_OP);
	} else if (v <= 0xFF) {
		aml_u8(b, AML_BYTE_PFX);
		aml_u8(b, (uint8_t)v);
	} else if (v <= 0xFFFF) {
		uint16_t w = (uint16_t)v;

		aml_u8(b, AML_WORD_PFX);
		aml_bytes(b, &w, 2);
	} else if (v <= 0xFFFFFFFF) {
		uint32_t d = (uint32_t)v;

		aml_u8(b, AML_DWORD_PFX);
		aml_bytes(b, &d, 4);
	} else {
		aml_u8(b, AML_QWORD_PFX);
		aml_bytes(b, &v, 8);
	}
}

uint32_t aml_eisaid(const char id[7])
{
	/* Three letters, 5 bits each ('A' = 1), then four hex digits; stored big-endian. */
	uint16_t vendor = (uint16_t)(((id[0] - '@') & 0x1F) << 10 | ((id[1] - '@') & 0x1F) << 5 |
				     ((id[2] - '@') & 0x1F));
	uint16_t product = 0;

	for (int i = 3; i < 7; i++) {
		char c = id[i];
		unsigned d =
			(c >= '0' && c <= '9') ? (unsigned)(c - '0') : (unsigned)(c - 'A' + 10);

		product = (uint16_t)(product << 4 | (d & 0xF));
	}
	return (uint32_t)(vendor >> 8) | (uint32_t)(vendor & 0xFF) << 8 |
	       (uint32_t)(product >> 8) << 16 | (uint32_t)(product & 0xFF) << 24;
}

static void aml_name_op(struct aml_buf *b, const char seg[4])
{
	aml_u8(b, AML_NAME_OP);
	aml_bytes(b, seg, 4);
}

void aml_name_integer(struct aml_buf *b, const char seg[4], uint64_t v)
{
	aml_name_op(b, seg);
	aml_integer(b, v);
}

void aml_name_eisaid(struct aml_buf *b, const char seg[4], const char id[7])
{
	uint32_t v = aml_eisaid(id);

	aml_name_op(b, seg);
	aml_u8(b, AML_DWORD_PFX);
	aml_bytes(b, &v, 4);
}

void aml_name_buffer(struct aml_buf *b, const char seg[4], const struct aml_buf *inner)
{
	struct aml_buf size;
	uint8_t size_mem[9];

	/* Buffer := BufferOp PkgLength BufferSize ByteList */
	aml_init(&size, size_mem, sizeof(size_mem));
	aml_integer(&size, inner->len);
	aml_name_op(b, seg);
	aml_u8(b, AML_BUFFER_OP);
	aml_pkglength(b, size.len + inner->len);
	aml_bytes(b, size.p, size.len);
	aml_bytes(b, inner->p, inner->len);
	b->error |= inner->error;
}

void aml_package(struct aml_buf *b, unsigned count, const struct aml_buf *inner)
{
	/* Package := PackageOp PkgLength NumElements(byte) PackageElementList */
	aml_u8(b, AML_PACKAGE_OP);
	aml_pkglength(b, 1 + inner->len);
	aml_u8(b, (uint8_t)count);
	aml_bytes(b, inner->p, inner->len);
	b->error |= inner->error || count > 255;
}

void aml_name_package(struct aml_buf *b, const char seg[4], unsigned count,
		      const struct aml_buf *inner)
{
	aml_name_op(b, seg);
	aml_package(b, count, inner);
}

void aml_device(struct aml_buf *b, const char seg[4], const struct aml_buf *inner)
{
	/* Device := ExtOpPrefix DeviceOp PkgLength NameString TermList */
	aml_u8(b, AML_EXT_PFX);
	aml_u8(b, AML_DEVICE_OP);
	aml_pkglength(b, 4 + inner->len);
	aml_bytes(b, seg, 4);
	aml_bytes(b, inner->p, inner->len);
	b->error |= inner->error;
}

void aml_scope(struct aml_buf *b, const char *path, const struct aml_buf *inner)
{
	size_t n = strlen(path);

	/* Scope := ScopeOp PkgLength NameString TermList */
	aml_u8(b, AML_SCOPE_OP);
	aml_pkglength(b, n + inner->len);
	aml_bytes(b, path, n);
	aml_bytes(b, inner->p, inner->len);
	b->error |= inner->error;
}

void aml_name_string(struct aml_buf *b, const char seg[4], const char *s)
{
	/* String := StringPrefix AsciiCharList NullChar (20.2.3) */
	aml_name_op(b, seg);
	aml_u8(b, AML_STRING_PFX);
	aml_bytes(b, s, strlen(s) + 1);
}

void aml_namestring(struct aml_buf *b, const char *path)
{
	/* NameString := RootChar NamePath | NamePath; NamePath := NameSeg | DualNamePath | ... */
	size_t n, segs;

	if (*path == '\\') {
		aml_u8(b, AML_ROOT_CHAR);
		path++;
	}
	n = strlen(path);
	segs = (n + 1) / 5;
	if (n == 0 || (n + 1) % 5 || segs > 255) {
		b->error = true;
		return;
	}
	for (size_t i = 4; i < n; i += 5)
		if (path[i] != '.') {
			b->error = true;
			return;
		}
	if (segs == 2) {
		aml_u8(b, AML_DUAL_NAME_PFX);
	} else if (segs > 2) {
		aml_u8(b, AML_MULTI_NAME_PFX);
		aml_u8(b, (uint8_t)segs);
	}
	for (size_t i = 0; i < segs; i++)
		aml_bytes(b, path + 5 * i, 4);
}

void aml_method(struct aml_buf *b, const char seg[4], unsigned nargs, const struct aml_buf *body)
{
	/* DefMethod := MethodOp PkgLength NameString MethodFlags TermList; flags: ArgCount bits 0-2
	 */
	aml_u8(b, AML_METHOD_OP);
	aml_pkglength(b, 4 + 1 + body->len);
	aml_bytes(b, seg, 4);
	aml_u8(b, (uint8_t)(nargs & 7));
	aml_bytes(b, body->p, body->len);
	b->error |= body->error || nargs > 7;
}

void aml_if(struct aml_buf *b, const struct aml_buf *predicate, const struct aml_buf *body)
{
	/* DefIfElse := IfOp PkgLength Predicate TermList DefElse (empty) */
	aml_u8(b, AML_IF_OP);
	aml_pkglength(b, predicate->len + body->len);
	aml_bytes(b, predicate->p, predicate->len);
	aml_bytes(b, body->p, body->len);
	b->error |= predicate->error || body->error;
}

void aml_lequal(struct aml_buf *b, const struct aml_buf *lhs, const struct aml_buf *rhs)
{
	/* DefLEqual := LequalOp Operand Operand */
	aml_u8(b, AML_LEQUAL_OP);
	aml_bytes(b, lhs->p, lhs->len);
	aml_bytes(b, rhs->p, rhs->len);
	b->error |= lhs->error || rhs->error;
}

void aml_arg(struct aml_buf *b, unsigned n)
{
	if (n > 6) {
		b->error = true;
		return;
	}
	aml_u8(b, (uint8_t)(AML_ARG0_OP + n));
}

void aml_return(struct aml_buf *b, const struct aml_buf *value)
{
	/* DefReturn := ReturnOp ArgObject */
	aml_u8(b, AML_RETURN_OP);
	aml_bytes(b, value->p, value->len);
	b->error |= value->error;
}

void aml_notify(struct aml_buf *b, const char *path, uint8_t value)
{
	/* DefNotify := NotifyOp NotifyObject (SuperName) NotifyValue (TermArg) */
	aml_u8(b, AML_NOTIFY_OP);
	aml_namestring(b, path);
	aml_integer(b, value);
}
