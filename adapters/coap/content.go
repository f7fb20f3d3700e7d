package coap

import (
	"strings"

	"github.com/mqgate/mqgate/core"
)

// contentFormats maps CoAP Content-Format numbers to the MQTT 5 content
// type [RFC7252 12.3]; text says the payload is UTF-8 text, MQTT's
// payload format indicator 1.
var contentFormats = []struct {
	cf   uint32
	ct   string
	text bool
}{
	{0, "text/plain;charset=utf-8", true},
	{40, "application/link-format", true},
	{41, "application/xml", false},
	{42, "application/octet-stream", false},
	{47, "application/exi", false},
	{50, "application/json", true},
	{60, "application/cbor", false},
	{110, "application/senml+json", true},
	{112, "application/senml+cbor", false},
}

// contentTypeOf returns the content type of a Content-Format; ok is false
// for a number the adapter does not know, which it passes on as no
// content type.
func contentTypeOf(cf uint32) (ct string, text, ok bool) {
	for _, f := range contentFormats {
		if f.cf == cf {
			return f.ct, f.text, true
		}
	}
	return "", false, false
}

// contentFormatOf maps a message's content type back to a Content-Format;
// without one, a message whose payload format says UTF-8 is text/plain.
func contentFormatOf(m *core.Message) (uint32, bool) {
	if m.ContentType == "" {
		if m.PayloadFormat == 1 {
			return 0, true
		}
		return 0, false
	}
	ct := strings.ToLower(strings.ReplaceAll(m.ContentType, " ", ""))
	for _, f := range contentFormats {
		if ct == f.ct || f.cf == 0 && ct == "text/plain" {
			return f.cf, true
		}
	}
	return 0, false
}
