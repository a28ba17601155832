package egress

import (
	"context"
	"errors"
	"net"
	"strconv"
)

// DialContext connects to address ("host:port") if the policy allows it:
// the host is checked and resolved as by Resolve, and the addresses that
// passed the check are dialled in turn, so a name that resolves again to
// something else is never reached. For http.Transport.DialContext, to send
// the server's own requests (webhooks) under a tenant's policy.
func (p *Policy) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return nil, errors.New("egress: bad port " + strconv.Quote(port))
	}
	addrs, err := p.Resolve(ctx, host, nil)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	var errs []error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}
