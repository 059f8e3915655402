/*
Copyright 2026 The nuop authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package giteaclient

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// AllowList is the parsed --gitea-allowed-hosts: the host names and addresses the operator may connect to.
// Any namespace editor can create a GiteaProvider, so without it the operator could be pointed at internal
// endpoints.
//
// The list is enforced when a connection is dialed, on the address actually dialed after name resolution:
// for every address Go tries, for every new connection (redirects included) and, when a proxy is used, for
// the proxy, which is then what is dialed (the proxy resolves and reaches the Gitea host itself, so its own
// policy governs that hop). A connection is allowed when
//   - its address is in one of the list's IP addresses or CIDRs, or else
//   - the address is not link-local (169.254.0.0/16, fe80::/10) nor a cloud metadata address (169.254.169.254,
//     fd00:ec2::254, 100.100.100.200), and either the list is empty or it names the host dialed.
//
// So a host name entry allows that name whatever it resolves to, except to link-local and metadata addresses,
// which only an address or CIDR entry allows. The zero AllowList is the empty list.
type AllowList struct {
	hosts    []string
	prefixes []netip.Prefix
}

// ParseAllowList parses entries that are each a host name, an IP address or a CIDR. Blank entries are
// ignored; host names match case-insensitively and exactly (no wildcards).
func ParseAllowList(entries []string) (AllowList, error) {
	var l AllowList
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if p, err := netip.ParsePrefix(e); err == nil {
			l.prefixes = append(l.prefixes, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(e); err == nil {
			a = a.Unmap().WithZone("")
			l.prefixes = append(l.prefixes, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		name := normalizeHost(e)
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			return AllowList{}, fmt.Errorf("--gitea-allowed-hosts: %q is not a host name, an IP address or a CIDR: %s",
				e, strings.Join(errs, "; "))
		}
		l.hosts = append(l.hosts, name)
	}
	return l, nil
}

func normalizeHost(h string) string { return strings.ToLower(strings.TrimSuffix(h, ".")) }

// metadataAddrs are cloud metadata endpoints outside the link-local ranges. The best known one,
// 169.254.169.254 (AWS, GCP, Azure, OpenStack), is link-local and refused as such.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IMDS over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
}

func linkLocalOrMetadata(a netip.Addr) bool {
	return a.IsLinkLocalUnicast() || slices.Contains(metadataAddrs, a)
}

// check decides whether a connection to addr, dialed for host (a name or an address literal), is allowed.
func (l AllowList) check(host string, addr netip.Addr) error {
	addr = addr.Unmap().WithZone("")
	for _, p := range l.prefixes {
		if p.Contains(addr) {
			return nil
		}
	}
	if linkLocalOrMetadata(addr) {
		return &notAllowedError{host: host, addr: addr, metadata: true}
	}
	if len(l.hosts) == 0 && len(l.prefixes) == 0 || slices.Contains(l.hosts, normalizeHost(host)) {
		return nil
	}
	return &notAllowedError{host: host, addr: addr}
}

type notAllowedError struct {
	host     string
	addr     netip.Addr
	metadata bool
}

func (e *notAllowedError) Error() string {
	target := e.addr.String()
	if e.host != target {
		target = fmt.Sprintf("%s (%s)", e.host, e.addr)
	}
	if e.metadata {
		return fmt.Sprintf("connecting to %s is refused: a link-local or cloud metadata address is only allowed "+
			"when --gitea-allowed-hosts lists its address or CIDR", target)
	}
	return fmt.Sprintf("connecting to %s is refused: neither the host nor its address is in --gitea-allowed-hosts",
		target)
}

// dialer checks every address it connects to against the allow-list, in the socket's Control hook: after
// name resolution, before the connection is made, so a name resolving somewhere unexpected is caught while
// Go's resolver and its dual-stack dialing stay as they are.
type dialer struct {
	allow AllowList
	net.Dialer
}

func newDialer(allow AllowList) *dialer {
	// The timeouts of http.DefaultTransport's dialer.
	return &dialer{allow: allow, Dialer: net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}}
}

func (d *dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	nd := d.Dialer
	nd.Control = func(_, resolved string, _ syscall.RawConn) error {
		ip, _, err := net.SplitHostPort(resolved)
		if err != nil {
			return err
		}
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return err
		}
		return d.allow.check(host, addr)
	}
	return nd.DialContext(ctx, network, address)
}
