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
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAllowList(t *testing.T) {
	type parsed struct {
		Hosts    []string
		Prefixes []string
	}
	tests := []struct {
		entries []string
		want    parsed
		err     string
	}{
		{nil, parsed{}, ""},
		{[]string{"", "  "}, parsed{}, ""},
		{[]string{"Gitea.Example.com.", " git.internal "}, parsed{Hosts: []string{"gitea.example.com", "git.internal"}}, ""},
		{[]string{"10.1.2.3/8", "10.0.0.7", "::ffff:192.168.1.1", "fd00::/8", "fe80::1%eth0"},
			parsed{Prefixes: []string{"10.0.0.0/8", "10.0.0.7/32", "192.168.1.1/32", "fd00::/8", "fe80::1/128"}}, ""},
		{[]string{"gitea.example.com", "not a host"}, parsed{}, `"not a host" is not a host name, an IP address or a CIDR`},
		{[]string{"10.0.0.0/33"}, parsed{}, "is not a host name"},
		{[]string{"https://gitea.example.com"}, parsed{}, "--gitea-allowed-hosts"},
	}
	for _, tt := range tests {
		l, err := ParseAllowList(tt.entries)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseAllowList(%q) error = %v, want one containing %q", tt.entries, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseAllowList(%q): %v", tt.entries, err)
			continue
		}
		got := parsed{Hosts: l.hosts}
		for _, p := range l.prefixes {
			got.Prefixes = append(got.Prefixes, p.String())
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseAllowList(%q) (-want +got):\n%s", tt.entries, diff)
		}
	}
}

func TestAllowListCheck(t *testing.T) {
	list := func(entries ...string) AllowList {
		l, err := ParseAllowList(entries)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	type verdict string
	const (
		allowed  verdict = "allowed"
		refused  verdict = "refused"
		metadata verdict = "metadata"
	)
	tests := []struct {
		name string
		list AllowList
		host string
		addr string
		want verdict
	}{
		{"empty list: anything", list(), "gitea.example.com", "203.0.113.7", allowed},
		{"empty list: loopback", list(), "localhost", "127.0.0.1", allowed},
		{"empty list: private", list(), "10.0.0.1", "10.0.0.1", allowed},
		{"empty list: IPv4 link-local", list(), "169.254.10.10", "169.254.10.10", metadata},
		{"empty list: IMDS", list(), "169.254.169.254", "169.254.169.254", metadata},
		{"empty list: a name resolving to IMDS", list(), "metadata.google.internal", "169.254.169.254", metadata},
		{"empty list: IMDS mapped into IPv6", list(), "::ffff:169.254.169.254", "::ffff:169.254.169.254", metadata},
		{"empty list: IPv6 link-local", list(), "fe80::1", "fe80::1%eth0", metadata},
		{"empty list: AWS IMDS over IPv6", list(), "fd00:ec2::254", "fd00:ec2::254", metadata},
		{"empty list: Alibaba metadata", list(), "100.100.100.200", "100.100.100.200", metadata},
		{"empty list: next to Alibaba metadata", list(), "100.100.100.201", "100.100.100.201", allowed},
		{"CIDR", list("10.0.0.0/8"), "gitea.internal", "10.20.30.40", allowed},
		{"outside the CIDR", list("10.0.0.0/8"), "gitea.internal", "192.168.0.1", refused},
		{"a name resolving outside the CIDR", list("10.0.0.0/8"), "localhost", "127.0.0.1", refused},
		{"host name, any address", list("gitea.example.com"), "GITEA.example.com.", "192.168.0.1", allowed},
		{"another host name", list("gitea.example.com"), "evil.example.com", "192.168.0.1", refused},
		{"host name, but resolving to IMDS", list("gitea.example.com"), "gitea.example.com", "169.254.169.254", metadata},
		{"an address literal is not a name", list("gitea.example.com"), "192.168.0.1", "192.168.0.1", refused},
		{"IMDS allowed explicitly", list("169.254.169.254"), "169.254.169.254", "169.254.169.254", allowed},
		{"link-local allowed by CIDR", list("169.254.0.0/16"), "169.254.3.4", "169.254.3.4", allowed},
		{"IPv6 CIDR", list("fd00::/8"), "gitea6", "fd12::1", allowed},
		{"IPv4 entry, IPv6 address", list("10.0.0.0/8"), "gitea", "fd12::1", refused},
	}
	for _, tt := range tests {
		err := tt.list.check(tt.host, netip.MustParseAddr(tt.addr))
		got := allowed
		if err != nil {
			got = refused
			if err.(*notAllowedError).metadata {
				got = metadata
			}
			if !strings.Contains(err.Error(), "--gitea-allowed-hosts") || !strings.Contains(err.Error(), tt.host) {
				t.Errorf("%s: the message %q names neither the host nor the flag", tt.name, err)
			}
		}
		if got != tt.want {
			t.Errorf("%s: %s (%s) is %s, want %s", tt.name, tt.host, tt.addr, got, tt.want)
		}
	}
}

func TestNotAllowedMessage(t *testing.T) {
	tests := []struct {
		err  *notAllowedError
		want string
	}{
		{&notAllowedError{host: "evil.example.com", addr: netip.MustParseAddr("10.1.2.3")},
			"connecting to evil.example.com (10.1.2.3) is refused: neither the host nor its address is in --gitea-allowed-hosts"},
		{&notAllowedError{host: "169.254.169.254", addr: netip.MustParseAddr("169.254.169.254"), metadata: true},
			"connecting to 169.254.169.254 is refused: a link-local or cloud metadata address is only allowed when " +
				"--gitea-allowed-hosts lists its address or CIDR"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("message:\n got %q\nwant %q", got, tt.want)
		}
	}
}
