package httpapi

import (
	"net/http"
	"strconv"
)

// page is the envelope of a listing, after EMQX's {data, meta}.
type page[T any] struct {
	Data []T      `json:"data"`
	Meta pageMeta `json:"meta"`
}

type pageMeta struct {
	Limit   int    `json:"limit"`
	HasNext bool   `json:"hasnext"`
	Cursor  string `json:"cursor,omitempty"` // pass as ?cursor= for the next page
}

// pageQuery reads limit and cursor; false when it answered 400.
func pageQuery(w http.ResponseWriter, r *http.Request) (limit int, cursor string, ok bool) {
	q := r.URL.Query()
	limit = 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			badRequest(w, "limit", "must be a whole number from 1 to 1000")
			return 0, "", false
		}
		limit = n
	}
	return limit, q.Get("cursor"), true
}
