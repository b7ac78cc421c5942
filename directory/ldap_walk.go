package directory

import (
	"context"
	"slices"

	"github.com/go-ldap/ldap/v3"
)

// searcher is the part of ldap.Client the paging loop needs.
type searcher interface {
	Search(*ldap.SearchRequest) (*ldap.SearchResult, error)
}

// walk runs req as a paged search (RFC 2696, Simple Paged Results) and calls
// fn for every entry, one page at a time, so the server's size limit
// (AD's MaxPageSize, 1000 by default) never truncates the result. It stops
// when the server returns an empty cookie (or no paging control: a server
// without paging has sent everything), and returns the pages fetched.
//
// go-ldap's SearchWithPaging is not used: it buffers every page, and on an
// error it returns a partial result. An error here means the walk failed;
// the caller must not treat what fn saw as complete. The caller closes the
// connection afterwards, which releases any server-side paging state.
func walk(ctx context.Context, c searcher, req *ldap.SearchRequest, pageSize uint32, fn func(*ldap.Entry)) (int, error) {
	paging := ldap.NewControlPaging(pageSize)
	r := *req
	r.Controls = append(slices.Clip(req.Controls), paging)
	pages := 0
	for {
		if err := ctx.Err(); err != nil {
			return pages, err
		}
		res, err := c.Search(&r)
		if err != nil {
			return pages, err
		}
		pages++
		for _, e := range res.Entries {
			fn(e)
		}
		ctrl, _ := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if ctrl == nil || len(ctrl.Cookie) == 0 {
			return pages, nil
		}
		paging.SetCookie(ctrl.Cookie)
	}
}
