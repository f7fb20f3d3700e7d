package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxBody bounds a request body: a bulk publish of large payloads.
const maxBody = 16 << 20

// decode reads a JSON body into v, refusing unknown fields; false when it
// answered 400 naming the field at fault.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeLimit(w, r, v, maxBody)
}

// decodeLimit is decode with a body of at most limit bytes.
func decodeLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		return true
	}
	var te *json.UnmarshalTypeError
	var me *http.MaxBytesError
	switch {
	case errors.As(err, &te) && te.Field != "":
		badRequest(w, te.Field, "must be "+jsonKind(te.Type.Kind().String())+", not "+te.Value)
	case errors.As(err, &me):
		writeError(w, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE", "the body is larger than "+strconv.FormatInt(limit, 10)+" bytes")
	case errors.Is(err, io.EOF):
		badRequest(w, "body", "is empty; a JSON document is required")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		badRequest(w, f, "unknown field")
	default:
		badRequest(w, "body", "is not valid JSON: "+err.Error())
	}
	return false
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "a whole number"
	case k == "string":
		return "a string"
	case k == "bool":
		return "true or false"
	case k == "map", k == "struct":
		return "an object"
	case k == "slice":
		return "an array"
	}
	return k
}
