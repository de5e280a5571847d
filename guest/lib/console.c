/* console.c — COM1 output (8250 UART, polled), a small printf, the debug-exit port and string
 * helpers. */
#include "rt.h"

#define COM1 0x3f8
#define UART_LSR_THRE 0x20 /* Line Status Register: transmit holding register empty */
#define DEBUG_EXIT_PORT 0xf4

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

void rt_serial_init(void)
{
	rt_outb(COM1 + 1, 0x00); /* IER: no interrupts */
	rt_outb(COM1 + 3, 0x80); /* LCR: DLAB */
	rt_outb(COM1 + 0, 0x01); /* DLL: 115200 baud */
	rt_outb(COM1 + 1, 0x00); /* DLM */
	rt_outb(COM1 + 3, 0x03); /* LCR: 8N1 */
	rt_outb(COM1 + 2, 0x07); /* FCR: FIFO on, cleared */
	rt_outb(COM1 + 4, 0x03); /* MCR: DTR | RTS */
}

static void serial_raw(char c)
{
	for (unsigned int i = 0; i < 100000; i++)
		if (rt_inb(COM1 + 5) & UART_LSR_THRE)
			break;
	rt_outb(COM1, (uint8_t)c);
}

void rt_putc(char c)
{
	if (c == '\n')
		serial_raw('\r');
	serial_raw(c);
}

static int put_num(uint64_t v, unsigned int base, bool neg, unsigned int width, char pad)
{
	char buf[24];
	int n = 0, out = 0;

	do {
		unsigned int d = (unsigned int)(v % base);
		buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	if (neg)
		width = width ? width - 1 : 0;
	if (neg && pad == '0') {
		rt_putc('-');
		out++;
	}
	for (unsigned int w = (unsigned int)n; w < width; w++, out++)
		rt_putc(pad);
	if (neg && pad != '0') {
		rt_putc('-');
		out++;
	}
	while (n)
		rt_putc(buf[--n]), out++;
	return out;
}

int rt_vprintf(const char *fmt, va_list ap)
{
	int out = 0;

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			rt_putc(*fmt);
			out++;
			continue;
		}
		fmt++;
		char pad = ' ';
		unsigned int width = 0, longs = 0;
		bool left = false;
		if (*fmt == '-') {
			left = true;
			fmt++;
		}
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned int)(*fmt++ - '0');
		while (*fmt == 'l') {
			longs++;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			unsigned int len = (unsigned int)strlen(s);
			if (!left)
				for (; width > len; width--, out++)
					rt_putc(' ');
			for (; *s; s++, out++)
				rt_putc(*s);
			for (; width > len; width--, out++)
				rt_putc(' ');
			break;
		}
		case 'c':
			rt_putc((char)va_arg(ap, int));
			out++;
			break;
		case 'd': {
			int64_t v = longs ? va_arg(ap, long) : va_arg(ap, int);
			out += put_num(v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, width, pad);
			break;
		}
		case 'u':
		case 'x': {
			uint64_t v = longs ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			out += put_num(v, *fmt == 'x' ? 16 : 10, false, width, pad);
			break;
		}
		case 'p':
			rt_putc('0');
			rt_putc('x');
			out += 2 + put_num((uintptr_t)va_arg(ap, void *), 16, false, width, pad);
			break;
		case '%':
			rt_putc('%');
			out++;
			break;
		case '\0':
			return out;
		default:
			rt_putc('%');
			rt_putc(*fmt);
			out += 2;
			break;
		}
	}
	return out;
}

int rt_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = rt_vprintf(fmt, ap);
	va_end(ap);
	return n;
}

void rt_halt(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void rt_exit(uint32_t code)
{
	rt_outl(DEBUG_EXIT_PORT, code);
	/* No debug-exit device: end the run with a triple fault (empty IDT, then #UD). */
	rt_printf("rt: debug-exit port 0x%x did not stop the VM; forcing a triple fault\n",
		  DEBUG_EXIT_PORT);
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty_idt = { 0, 0 };
	__asm__ volatile("lidt %0; ud2" : : "m"(empty_idt));
	rt_halt();
}
