package directory_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/rccserver/rccserver/directory"
	"github.com/rs/zerolog"
)

// A directory from a YAML file: load it, then answer who a Lync user is.
// With kind ldap (url, bind_dn, …) the calls are the same; the daemon also
// runs c.Run(ctx) for the periodic refresh and calls c.Reload(ctx) on
// -reload.
func Example() {
	c, err := directory.New(directory.Config{File: "testdata/users.yaml"}, zerolog.Nop())
	if err != nil {
		panic(err)
	}
	if err := c.Start(context.Background()); err != nil {
		panic(err)
	}

	e, err := c.LookupSIP("sip:alice@example.com")
	fmt.Println(e.Account, e.LineURI, e.RCCEnabled, err)

	e, err = c.LookupLine("TEL:+1 (317) 555-1010")
	fmt.Println(e.Account, err)

	_, err = c.LookupSIP("sip:mallory@example.com")
	fmt.Println(errors.Is(err, directory.ErrNotFound))
	// Output:
	// EXAMPLE\alice tel:+13175551010 true <nil>
	// EXAMPLE\alice <nil>
	// true
}
