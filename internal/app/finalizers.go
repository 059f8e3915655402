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

package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/metadata"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"kemper.buzz/nuop/internal/engine"
)

// finalizersMain is `manager finalizers release`: it removes a finalizer from every object of a kind,
// without running any script, for uninstalls and emergencies.
func finalizersMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "release" {
		_, _ = fmt.Fprintln(stderr, "usage: manager finalizers release --finalizer <name> --kind <group/version/kind> "+
			"[--namespace <ns>] [--instance <id>] [--kubeconfig <file>]")
		return ExitUsage
	}
	fs := flag.NewFlagSet("finalizers release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var r engine.Release
	var kind, kubeconfig string
	fs.StringVar(&r.Finalizer, "finalizer", "", "the finalizer to remove (required)")
	fs.StringVar(&kind, "kind", "", "group/version/kind of the objects, e.g. apps/v1/Deployment or v1/ConfigMap (required)")
	fs.StringVar(&r.Namespace, "namespace", "", "only this namespace (default: all)")
	fs.StringVar(&r.Instance, "instance", "", "only objects this nuop instance finalizes (default: whoever added it)")
	fs.StringVar(&kubeconfig, "kubeconfig", "", "path to a kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)")
	if err := fs.Parse(args[1:]); err != nil {
		return ExitUsage
	}
	gvk, err := parseGVK(kind)
	if err == nil && r.Finalizer == "" {
		err = errors.New("--finalizer is required")
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "error: %v\n", err)
		return ExitUsage
	}
	r.Kind = gvk

	cfg, err := restConfig(kubeconfig)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "error: finding the API server: %v\n", err)
		return ExitError
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err == nil {
		r.Resource, err = engine.Resource(dc, gvk)
	}
	var mc metadata.Interface
	if err == nil {
		mc, err = metadata.NewForConfig(cfg)
	}
	var c client.Client
	if err == nil {
		c, err = client.New(cfg, client.Options{})
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "error: %v\n", err)
		return ExitError
	}
	n, err := engine.ReleaseFinalizers(ctx, mc, c, r, func(obj client.Object) {
		_, _ = fmt.Fprintf(stdout, "released %s from %s %s\n", r.Finalizer, gvk.Kind, objectName(obj))
	})
	_, _ = fmt.Fprintf(stdout, "%d object(s) released\n", n)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "error: %v\n", err)
		return ExitError
	}
	return ExitOK
}

// parseGVK reads group/version/kind, or version/kind for the core group.
func parseGVK(s string) (schema.GroupVersionKind, error) {
	parts := strings.Split(strings.TrimPrefix(s, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] != "" && parts[1] != "":
		return schema.GroupVersionKind{Version: parts[0], Kind: parts[1]}, nil
	case len(parts) == 3 && parts[0] != "" && parts[1] != "" && parts[2] != "":
		return schema.GroupVersionKind{Group: parts[0], Version: parts[1], Kind: parts[2]}, nil
	default:
		return schema.GroupVersionKind{}, fmt.Errorf("invalid --kind %q: want group/version/kind (apps/v1/Deployment) "+
			"or version/kind for the core group (v1/ConfigMap)", s)
	}
}

func objectName(obj client.Object) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}
