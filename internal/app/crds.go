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
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
	giteactrl "kemper.buzz/nuop/internal/controller/gitea"
	"kemper.buzz/nuop/internal/engine"
	"kemper.buzz/nuop/internal/health"
)

// crdRecheck is how often manager mode looks again for CRDs that are not installed yet.
const crdRecheck = 5 * time.Second

// projectKinds are the kinds manager mode's controllers watch: the NuOperator, the GiteaProvider and every
// managed Gitea kind.
func projectKinds(scheme *runtime.Scheme) ([]schema.GroupVersionKind, error) {
	managed := giteactrl.ManagedKinds()
	objects := make([]client.Object, 0, 2+len(managed))
	objects = append(objects, &nuopv1alpha1.NuOperator{}, &giteav1alpha1.GiteaProvider{})
	for _, k := range managed {
		objects = append(objects, k.NewObject())
	}
	gvks := make([]schema.GroupVersionKind, 0, len(objects))
	for _, o := range objects {
		gvk, err := apiutil.GVKForObject(o, scheme)
		if err != nil {
			return nil, err
		}
		gvks = append(gvks, gvk)
	}
	return gvks, nil
}

// unserved lists the kinds of gvks the API server does not serve, sorted: their CRDs are not installed.
func unserved(dc discovery.DiscoveryInterface, gvks []schema.GroupVersionKind) ([]string, error) {
	resource := engine.Resources(dc)
	var missing []string
	for _, gvk := range gvks {
		_, err := resource(gvk)
		switch {
		case engine.IsNotServed(err):
			missing = append(missing, gvk.Kind+"."+gvk.Group)
		case err != nil:
			return nil, err
		}
	}
	slices.Sort(missing)
	return missing, nil
}

// whenCRDsServed runs setup once every project kind is served. With the CRDs installed that is at once;
// without them (a manager deployed before its CRDs, as nuop's guide does) the process stays up, not ready,
// and /readyz names the missing ones until they appear, instead of exiting into a crash loop.
func whenCRDsServed(mgr manager.Manager, gate *health.Gate, setup func() error) error {
	gvks, err := projectKinds(mgr.GetScheme())
	if err != nil {
		return err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(mgr.GetConfig())
	if err != nil {
		return err
	}
	missing, err := unserved(dc, gvks)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return setup()
	}
	log := mgr.GetLogger().WithName("setup")
	waiting := func(missing []string) string {
		return fmt.Sprintf("waiting for the CRDs of %s (install them: make install, or kubectl apply -f dist/install.yaml)",
			strings.Join(missing, ", "))
	}
	gate.Close(waiting(missing))
	log.Info("manager mode waits for its CRDs", "missing", missing)
	// Every replica waits and sets up alike: the controllers it adds still run on the leader only.
	return mgr.Add(&everyReplica{run: func(ctx context.Context) error {
		ticker := time.NewTicker(crdRecheck)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-ticker.C:
			}
			missing, err := unserved(dc, gvks)
			if err != nil {
				log.Error(err, "looking for the CRDs; trying again")
				continue
			}
			if len(missing) > 0 {
				gate.Close(waiting(missing))
				continue
			}
			log.Info("the CRDs are installed; starting the controllers")
			return setup()
		}
	}})
}

// everyReplica is a runnable that runs on standbys as well as on the leader.
type everyReplica struct{ run func(context.Context) error }

func (r *everyReplica) Start(ctx context.Context) error { return r.run(ctx) }

func (*everyReplica) NeedLeaderElection() bool { return false }
