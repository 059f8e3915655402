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
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestCache(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	tlsSrv.Close()
	key := types.NamespacedName{Namespace: "team-a", Name: "gitea"}
	cfg := Config{URL: "https://gitea.example.com", Token: testToken, Provider: "team-a/gitea", QPS: 5, Burst: 10,
		CABundle: certPEM(tlsSrv)}
	cache := NewCache()
	if _, ok := cache.Get(key); ok {
		t.Fatal("a client in an empty cache")
	}
	first, err := cache.Put(key, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := cache.Get(key); !ok || got != first {
		t.Fatal("Get does not return what was Put")
	}

	// An equal config, with its own copy of the CA bundle and other process-wide parts, keeps the client.
	same := cfg
	same.CABundle = bytes.Clone(cfg.CABundle)
	same.Clock = clocktesting.NewFakeClock(t0)
	same.Proxy = noProxy
	if again, err := cache.Put(key, same); err != nil || again != first {
		t.Errorf("an unchanged config rebuilt the client (%v)", err)
	}

	// Any change of the provider's own settings rebuilds it.
	changes := map[string]func(*Config){
		"token":    func(c *Config) { c.Token = "rotated" },
		"password": func(c *Config) { c.Token, c.Username, c.Password = "", testUser, testPassword },
		"URL":      func(c *Config) { c.URL = "https://gitea2.example.com" },
		"insecure": func(c *Config) { c.InsecureSkipVerify = true },
		"CA":       func(c *Config) { c.CABundle = nil },
		"timeout":  func(c *Config) { c.Timeout = time.Minute },
		"qps":      func(c *Config) { c.QPS = 50 },
		"burst":    func(c *Config) { c.Burst = 1 },
	}
	for name, change := range changes {
		changed := cfg
		change(&changed)
		current, _ := cache.Get(key)
		next, err := cache.Put(key, changed)
		if err != nil || next == current {
			t.Errorf("a changed %s kept the client (%v)", name, err)
		}
		if back, err := cache.Put(key, cfg); err != nil || back == next {
			t.Errorf("changing the %s back kept the changed client (%v)", name, err)
		}
	}

	// A config that cannot be built leaves the last client in place.
	last, _ := cache.Get(key)
	bad := cfg
	bad.CABundle = []byte("garbage")
	if _, err := cache.Put(key, bad); err == nil {
		t.Error("a bad CA bundle was accepted")
	}
	if got, ok := cache.Get(key); !ok || got != last {
		t.Error("a failed Put dropped the last client")
	}

	other := types.NamespacedName{Namespace: "team-b", Name: "gitea"}
	if _, err := cache.Put(other, cfg); err != nil {
		t.Fatal(err)
	}
	cache.Delete(key)
	cache.Delete(key)
	if _, ok := cache.Get(key); ok {
		t.Error("Delete left the client")
	}
	if _, ok := cache.Get(other); !ok {
		t.Error("Delete took another provider's client")
	}
}
