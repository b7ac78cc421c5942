/*
 * LD_PRELOAD helper for TestPidginSipe (built at test time).
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

int xmlSAXUserParseMemory(xmlSAXHandlerPtr sax, void *user_data, const char *buffer, int size)
{
	static parse_fn next;
	xmlSAXHandler sax1;

	if (!next)
		next = (parse_fn)dlsym(RTLD_NEXT, "xmlSAXUserParseMemory");
	if (sax && sax->initialized == XML_SAX2_MAGIC && !sax->startElementNs && sax->startElement) {
		memcpy(&sax1, sax, sizeof sax1);
		sax1.initialized = 1;
		sax = &sax1;
	}
	return next(sax, user_data, buffer, size);
}
