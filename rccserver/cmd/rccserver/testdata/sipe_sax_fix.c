/*
 * LD_PRELOAD helper for TestPidginSipe (built at test time): a fix for
 * pidgin-sipe's XML parsing, and a way to place a call without a UI.
 *
 * pidgin-sipe 1.25 parses XML with a static SAX handler whose
 * "initialized" field is XML_SAX2_MAGIC while it fills in only the SAX1
 * element callbacks (startElement/endElement). libxml2 2.9+ then calls the
 * SAX2 callbacks, which are NULL, so sipe sees no elements and never opens
 * RCC. This wrapper hands libxml2 a copy of such a handler marked SAX1.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <libxml/parser.h>

typedef int (*parse_fn)(xmlSAXHandlerPtr, void *, const char *, int);

static void start_call_poller(void);

int xmlSAXUserParseMemory(xmlSAXHandlerPtr sax, void *user_data, const char *buffer, int size)
{
	static parse_fn next;
	xmlSAXHandler sax1;

	if (!next)
		next = (parse_fn)dlsym(RTLD_NEXT, "xmlSAXUserParseMemory");
	start_call_poller();
	if (sax && sax->initialized == XML_SAX2_MAGIC && !sax->startElementNs && sax->startElement) {
		memcpy(&sax1, sax, sizeof sax1);
		sax1.initialized = 1;
		sax = &sax1;
	}
	return next(sax, user_data, buffer, size);
}

/*
 * Headless click-to-dial. pidgin-sipe places an RCC call from its buddy
 * menu; with no UI, the test writes a number into the file named by
 * SIPE_CALL_FILE and a timer on the main loop (started by the first XML
 * parse) passes it to sipe_core_buddy_make_call for the first libpurple
 * connection, whose protocol data is pidgin-sipe's session. Prototypes are
 * declared here so that no glib, libpurple or sipe headers are needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct glist { void *data; struct glist *next, *prev; };
extern unsigned int g_timeout_add(unsigned int interval, int (*fn)(void *), void *data);

static int poll_call_file(void *unused)
{
	static void (*make_call)(void *, const char *);
	static struct glist *(*connections)(void);
	static void *(*protocol_data)(void *);
	const char *path = getenv("SIPE_CALL_FILE");
	struct glist *gcs;
	char number[128];
	FILE *f;
	size_t n;

	(void)unused;
	if (!path || !(f = fopen(path, "r")))
		return 1;
	n = fread(number, 1, sizeof number - 1, f);
	fclose(f);
	unlink(path);
	while (n > 0 && (number[n - 1] == '\n' || number[n - 1] == '\r'))
		n--;
	number[n] = '\0';
	if (!make_call) {
		/* libpurple loads plugins with local symbols: ask the plugin itself. */
		void *sipe = dlopen("libsipe.so", RTLD_LAZY | RTLD_NOLOAD);
		if (!sipe)
			sipe = dlopen("/usr/lib/purple-2/libsipe.so", RTLD_LAZY | RTLD_NOLOAD);
		make_call = sipe ? (void (*)(void *, const char *))dlsym(sipe, "sipe_core_buddy_make_call") : NULL;
		connections = (struct glist *(*)(void))dlsym(RTLD_DEFAULT, "purple_connections_get_all");
		protocol_data = (void *(*)(void *))dlsym(RTLD_DEFAULT, "purple_connection_get_protocol_data");
	}
	if (!make_call || !connections || !protocol_data || n == 0) {
		fprintf(stderr, "DEBUG sipe_sax_fix: cannot call %s: make_call %p connections %p protocol_data %p\n",
			number, (void *)make_call, (void *)connections, (void *)protocol_data);
		return 1;
	}
	gcs = connections();
	fprintf(stderr, "DEBUG sipe_sax_fix: make call to %s (connection %p)\n", number, gcs ? gcs->data : NULL);
	if (gcs && gcs->data && protocol_data(gcs->data))
		make_call(protocol_data(gcs->data), number);
	return 1;
}

static void start_call_poller(void)
{
	static int started;

	if (!started && getenv("SIPE_CALL_FILE")) {
		started = 1;
		g_timeout_add(200, poll_call_file, NULL);
		fprintf(stderr, "DEBUG sipe_sax_fix: watching %s\n", getenv("SIPE_CALL_FILE"));
	}
}
