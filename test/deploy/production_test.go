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

package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
)

const managerName = "nuop-controller-manager"

// TestManagerImageReachesItsEnvironment: `make deploy IMG=...` sets the image in config/manager, and a
// kustomize replacement copies it into NUOP_IMAGE, the default image of every managed operator (explicit,
// so the manager need not read its own Pod for it). Done here on a copy of config/, exactly as the Makefile does it, with a tag and
// with a digest.
func TestManagerImageReachesItsEnvironment(t *testing.T) {
	for _, image := range []string{
		"registry.example.com/team/nuop:v1.2.3",
		"registry.example.com/nuop@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	} {
		t.Run(image, func(t *testing.T) {
			tree := copyTree(t, "config", "scripts")
			if _, err := runToolIn(filepath.Join(tree, "config", "manager"), kustomize, nil,
				"edit", "set", "image", "controller="+image); err != nil {
				t.Fatal(err)
			}
			for _, dir := range []string{defaultConfig, productionConfig} {
				d := typed[appsv1.Deployment](t, kustomizeBuild(t, tree, dir).one(t, "Deployment", managerName))
				c := d.Spec.Template.Spec.Containers[0]
				if c.Image != image {
					t.Errorf("%s: the manager runs %q, want %q", dir, c.Image, image)
				}
				if got := envValue(c.Env, "NUOP_IMAGE"); got != image {
					t.Errorf("%s: NUOP_IMAGE is %q, want the manager's image %q", dir, got, image)
				}
			}

			// make deploy-standard sets the standard-mode overlay's image the same way.
			if _, err := runToolIn(filepath.Join(tree, standardConfig), kustomize, nil,
				"edit", "set", "image", "controller="+image); err != nil {
				t.Fatal(err)
			}
			d := typed[appsv1.Deployment](t, kustomizeBuild(t, tree, standardConfig).one(t, "Deployment", standardName))
			if got := d.Spec.Template.Spec.Containers[0].Image; got != image {
				t.Errorf("%s: runs %q, want %q", standardConfig, got, image)
			}
		})
	}
}

func envValue(env []corev1.EnvVar, name string) string {
	for _, e := range env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// TestProductionSurvivesDrains: the production overlay's PodDisruptionBudget covers the manager's pods,
// keeps one while letting the other go (minAvailable below the replicas: the standby is Ready, so a drain
// can always evict one), and lets a pod that is not Ready be evicted (AlwaysAllow), so a crash-looping pod
// never holds a drain. Its topology spread constraints are soft, so a replacement pod is never left Pending
// by them while a node drains.
func TestProductionSurvivesDrains(t *testing.T) {
	b := kustomizeBuild(t, root, productionConfig)
	d := typed[appsv1.Deployment](t, b.one(t, "Deployment", managerName))
	pdbs := b.all("PodDisruptionBudget")
	if len(pdbs) != 1 {
		t.Fatalf("%d PodDisruptionBudgets, want 1", len(pdbs))
	}
	pdb := typed[policyv1.PodDisruptionBudget](t, pdbs[0])
	if p := pdb.Spec.UnhealthyPodEvictionPolicy; p == nil || *p != policyv1.AlwaysAllow {
		t.Errorf("unhealthyPodEvictionPolicy %v, want AlwaysAllow", ptr.Deref(p, "unset"))
	}
	if pdb.Spec.MaxUnavailable != nil || pdb.Spec.MinAvailable == nil ||
		pdb.Spec.MinAvailable.IntValue() < 1 || int32(pdb.Spec.MinAvailable.IntValue()) >= *d.Spec.Replicas {
		t.Errorf("minAvailable %v, maxUnavailable %v with %d replicas: want minAvailable at least 1 and below "+
			"the replicas", pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable, *d.Spec.Replicas)
	}
	if pdb.Namespace != d.Namespace || !matches(t, pdb.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("the PodDisruptionBudget %s/%s (%v) does not select the manager's pods", pdb.Namespace, pdb.Name,
			pdb.Spec.Selector)
	}

	spread := d.Spec.Template.Spec.TopologySpreadConstraints
	keys := make([]string, 0, len(spread))
	for _, c := range spread {
		keys = append(keys, c.TopologyKey)
		if c.WhenUnsatisfiable != corev1.ScheduleAnyway {
			t.Errorf("topology spread on %s is %s, want ScheduleAnyway", c.TopologyKey, c.WhenUnsatisfiable)
		}
		if !matches(t, c.LabelSelector, d.Spec.Template.Labels) {
			t.Errorf("topology spread on %s does not select the manager's pods", c.TopologyKey)
		}
	}
	if !slices.Contains(keys, corev1.LabelHostname) || !slices.Contains(keys, corev1.LabelTopologyZone) {
		t.Errorf("topology spread on %v, want nodes and zones", keys)
	}
}

// TestProductionNetworkPolicy: the manager's pods accept only metrics scrapes, on the metrics port, and
// connect only to DNS, and to the API server and Gitea by the documented parameters, each on its ports;
// the parameters reach the policy and are not installed themselves.
func TestProductionNetworkPolicy(t *testing.T) {
	tree := copyTree(t, "config", "scripts")
	params := filepath.Join(tree, productionConfig, "network_parameters.yaml")
	data, err := os.ReadFile(params)
	if err != nil {
		t.Fatal(err)
	}
	for key, value := range map[string]string{"apiServerCIDR": "10.0.0.1/32", "giteaCIDR": "192.0.2.0/24", "giteaPort": "3000"} {
		re := regexp.MustCompile(`(?m)^  ` + key + `: .*$`)
		if !re.Match(data) {
			t.Fatalf("network_parameters.yaml has no parameter %s", key)
		}
		data = re.ReplaceAll(data, []byte("  "+key+": "+value))
	}
	if err := os.WriteFile(params, data, 0o644); err != nil {
		t.Fatal(err)
	}

	b := kustomizeBuild(t, tree, productionConfig)
	for _, cm := range b.all("ConfigMap") {
		if cm.GetName() == "network-parameters" {
			t.Error("the network parameters are installed as a ConfigMap: they must stay local to kustomize")
		}
	}
	d := typed[appsv1.Deployment](t, b.one(t, "Deployment", managerName))
	np := typed[networkingv1.NetworkPolicy](t, b.one(t, "NetworkPolicy", managerName))
	if np.Namespace != d.Namespace || !matches(t, &np.Spec.PodSelector, d.Spec.Template.Labels) {
		t.Fatalf("the NetworkPolicy %s/%s does not select the manager's pods", np.Namespace, np.Name)
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) {
		t.Errorf("policyTypes %v, want Ingress and Egress", np.Spec.PolicyTypes)
	}

	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].From) == 0 || !portsAre(np.Spec.Ingress[0].Ports, "metrics/TCP") {
		t.Errorf("ingress %+v, want one rule: from the scrapers, to the port metrics", np.Spec.Ingress)
	}
	if containerPort(&d.Spec.Template.Spec.Containers[0], "metrics") == 0 {
		t.Error("the manager container has no port named metrics, which the policy lets in")
	}

	if len(np.Spec.Egress) != 3 {
		t.Fatalf("%d egress rules, want 3 (DNS, API server, Gitea): %+v", len(np.Spec.Egress), np.Spec.Egress)
	}
	dns, api, gitea := np.Spec.Egress[0], np.Spec.Egress[1], np.Spec.Egress[2]
	if len(dns.To) != 1 || dns.To[0].IPBlock != nil || !portsAre(dns.Ports, "53/UDP", "53/TCP") {
		t.Errorf("DNS rule %+v, want the cluster's DNS pods on port 53", dns)
	}
	if !cidrsAre(api, "10.0.0.1/32") || !portsAre(api.Ports, "443/TCP", "6443/TCP") {
		t.Errorf("API server rule %+v, want apiServerCIDR on 443 and 6443", api)
	}
	if !cidrsAre(gitea, "192.0.2.0/24") || !portsAre(gitea.Ports, "3000/TCP") {
		t.Errorf("Gitea rule %+v, want giteaCIDR on giteaPort", gitea)
	}
}

// matches tells whether selector selects a pod with podLabels.
func matches(t *testing.T, selector *metav1.LabelSelector, podLabels map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		t.Fatal(err)
	}
	return !s.Empty() && s.Matches(labels.Set(podLabels))
}

// portsAre tells whether ports are exactly want, each "port/protocol".
func portsAre(ports []networkingv1.NetworkPolicyPort, want ...string) bool {
	got := []string{}
	for _, p := range ports {
		if p.Port == nil || p.Protocol == nil || p.EndPort != nil {
			return false
		}
		got = append(got, p.Port.String()+"/"+string(*p.Protocol))
	}
	return slices.Equal(got, want)
}

// cidrsAre tells whether the rule's only destination is the address block cidr, with no exception.
func cidrsAre(rule networkingv1.NetworkPolicyEgressRule, cidr string) bool {
	return len(rule.To) == 1 && rule.To[0].IPBlock != nil && rule.To[0].IPBlock.CIDR == cidr &&
		len(rule.To[0].IPBlock.Except) == 0 && rule.To[0].NamespaceSelector == nil && rule.To[0].PodSelector == nil
}
