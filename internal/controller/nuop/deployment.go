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

package nuop

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	nuopv1alpha1 "kemper.buzz/nuop/api/nuop/v1alpha1"
)

// What the managed operator's pods look like. The flags are the binary's (internal/options).
const (
	// ManagerContainer runs the managed operator (--mode=managed).
	ManagerContainer = "manager"
	// FetchContainer is the native sidecar fetching the git sources (--mode=fetch).
	FetchContainer = "fetch"

	probePort      = 8080
	metricsPort    = 9090
	fetchProbePort = 8082

	// SourcesPath is where the fetched sources are: written by the fetch sidecar, read by the manager
	// container.
	SourcesPath = "/var/run/nuop/sources"
	// CredentialsPath holds, in the fetch sidecar only, one directory per source with credentials, named
	// after the source's index in spec.sources. Its files have fixed names (nuopv1alpha1.CredentialFiles),
	// plus nuopv1alpha1.CredentialSourceFile (from the pod annotation CredentialSourceAnnotationPrefix+<index>).
	CredentialsPath = "/var/run/nuop/credentials"
	// CredentialSourceAnnotationPrefix + <index> is the pod annotation naming the source path whose
	// credentials are mounted at CredentialsPath/<index>.
	CredentialSourceAnnotationPrefix = "nuop.kemper.buzz/credentials-"

	volumeTmp      = "tmp"
	volumeFetchTmp = "fetch-tmp"
	volumeSources  = "sources"
	// credentialVolumePrefix + <index> names a source's credential volume: a valid DNS label whatever the
	// source's path (nuop derived it from the path, and an absolute path made an invalid name).
	credentialVolumePrefix = "cred-"
)

// deploymentParams are what the Deployment needs beyond the NuOperator.
type deploymentParams struct {
	image            string
	serviceAccount   string
	maxScriptTimeout time.Duration
}

// ownedLabels are on every object derived from n; the manager's caches select on the managed-by label, the
// PodMonitor of config/prometheus on the name and component labels.
func ownedLabels(n *nuopv1alpha1.NuOperator) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":      "nuop",
		"app.kubernetes.io/component": "managed",
		"app.kubernetes.io/instance":  n.Name,
		nuopv1alpha1.ManagedByLabel:   nuopv1alpha1.ManagerFieldManager,
		nuopv1alpha1.NuOperatorLabel:  n.Name,
	}
}

// ownerReference makes n the controller of an object derived from it.
func ownerReference(n *nuopv1alpha1.NuOperator) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().
		WithAPIVersion(nuopv1alpha1.GroupVersion.String()).
		WithKind("NuOperator").
		WithName(n.Name).
		WithUID(n.UID).
		WithController(true).
		WithBlockOwnerDeletion(true)
}

// desiredDeployment is the managed operator's Deployment for n, as an apply configuration: only the fields
// set here are applied and owned, so a field dropped from it (the sidecar when the sources go, a credential
// volume) is removed by the next apply.
func desiredDeployment(n *nuopv1alpha1.NuOperator, p deploymentParams) (*appsv1ac.DeploymentApplyConfiguration, error) {
	name := n.DeploymentName()
	podLabels := ownedLabels(n)
	for k, v := range n.SelectorLabels() {
		podLabels[k] = v
	}
	nuoperator := n.Namespace + "/" + n.Name
	pullPolicy := n.Spec.ImagePullPolicy
	if pullPolicy == "" {
		pullPolicy = corev1.PullIfNotPresent
	}
	env, err := containerEnv(n.Spec.Env)
	if err != nil {
		return nil, err
	}

	manager := corev1ac.Container().
		WithName(ManagerContainer).
		WithImage(p.image).
		WithImagePullPolicy(pullPolicy).
		WithArgs(
			"--mode=managed",
			"--nuoperator="+nuoperator,
			"--leader-elect",
			"--leader-election-id="+name,
			"--health-probe-bind-address=:"+strconv.Itoa(probePort),
			"--metrics-bind-address=:"+strconv.Itoa(metricsPort),
			"--metrics-secure=false",
			"--sources-path="+SourcesPath,
			"--max-script-timeout="+p.maxScriptTimeout.String(),
		).
		WithEnv(env...).
		WithPorts(
			corev1ac.ContainerPort().WithName("probes").WithContainerPort(probePort).WithProtocol(corev1.ProtocolTCP),
			corev1ac.ContainerPort().WithName("metrics").WithContainerPort(metricsPort).WithProtocol(corev1.ProtocolTCP),
		).
		WithLivenessProbe(httpProbe("/healthz", "probes", 15, 20)).
		WithReadinessProbe(httpProbe("/readyz", "probes", 5, 10)).
		WithSecurityContext(containerSecurityContext()).
		WithVolumeMounts(
			corev1ac.VolumeMount().WithName(volumeTmp).WithMountPath("/tmp"),
			corev1ac.VolumeMount().WithName(volumeSources).WithMountPath(SourcesPath).WithReadOnly(true),
		)
	resources, err := managerResources(n.Spec.Resources)
	if err != nil {
		return nil, err
	}
	manager.WithResources(resources)

	grace := int64(math.Ceil((p.maxScriptTimeout + TerminationGraceMargin).Seconds()))
	pod := corev1ac.PodSpec().
		WithSecurityContext(corev1ac.PodSecurityContext().
			WithRunAsNonRoot(true).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))).
		WithServiceAccountName(p.serviceAccount).
		WithTerminationGracePeriodSeconds(grace).
		WithContainers(manager).
		WithVolumes(
			corev1ac.Volume().WithName(volumeTmp).WithEmptyDir(corev1ac.EmptyDirVolumeSource()),
			corev1ac.Volume().WithName(volumeSources).WithEmptyDir(corev1ac.EmptyDirVolumeSource()),
		)
	for _, s := range dedupeBy(n.Spec.ImagePullSecrets, func(r corev1.LocalObjectReference) string { return r.Name }) {
		pod.WithImagePullSecrets(corev1ac.LocalObjectReference().WithName(s.Name))
	}
	if len(n.Spec.NodeSelector) > 0 {
		pod.WithNodeSelector(n.Spec.NodeSelector)
	}
	if len(n.Spec.Tolerations) > 0 {
		tolerations, err := convert[[]corev1ac.TolerationApplyConfiguration](n.Spec.Tolerations)
		if err != nil {
			return nil, err
		}
		for i := range tolerations {
			pod.WithTolerations(&tolerations[i])
		}
	}

	template := corev1ac.PodTemplateSpec().
		WithLabels(podLabels).
		// kubectl logs and exec pick the manager container, not the sidecar.
		WithAnnotations(map[string]string{"kubectl.kubernetes.io/default-container": ManagerContainer})
	if len(n.Spec.Sources) > 0 {
		fetch, annotations := fetchSidecar(n, p.image, pullPolicy, env, pod)
		pod.WithInitContainers(fetch)
		template.WithAnnotations(annotations)
	}
	template.WithSpec(pod)

	replicas := int32(1)
	if n.Spec.Replicas != nil {
		replicas = *n.Spec.Replicas
	}
	return appsv1ac.Deployment(name, n.Namespace).
		WithLabels(podLabels).
		WithOwnerReferences(ownerReference(n)).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(replicas).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(n.SelectorLabels())).
			WithTemplate(template)), nil
}

// fetchSidecar is the native sidecar fetching n's sources into the shared volume; it alone mounts the
// credentials, one volume per source with credentials, added to pod. It returns the pod annotations naming
// each credential directory's source.
func fetchSidecar(n *nuopv1alpha1.NuOperator, image string, pullPolicy corev1.PullPolicy,
	env []*corev1ac.EnvVarApplyConfiguration, pod *corev1ac.PodSpecApplyConfiguration,
) (*corev1ac.ContainerApplyConfiguration, map[string]string) {
	fetch := corev1ac.Container().
		WithName(FetchContainer).
		WithImage(image).
		WithImagePullPolicy(pullPolicy).
		WithRestartPolicy(corev1.ContainerRestartPolicyAlways).
		WithArgs(
			"--mode=fetch",
			"--nuoperator="+n.Namespace+"/"+n.Name,
			"--sources-path="+SourcesPath,
			"--health-probe-bind-address=:"+strconv.Itoa(fetchProbePort),
			"--credentials-path="+CredentialsPath,
		).
		WithEnv(env...).
		WithPorts(corev1ac.ContainerPort().WithName("fetch-probes").WithContainerPort(fetchProbePort).
			WithProtocol(corev1.ProtocolTCP)).
		WithLivenessProbe(httpProbe("/healthz", "fetch-probes", 15, 20)).
		WithReadinessProbe(httpProbe("/readyz", "fetch-probes", 5, 10)).
		WithSecurityContext(containerSecurityContext()).
		WithResources(corev1ac.ResourceRequirements().
			WithRequests(corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("10m"),
				corev1.ResourceMemory: resource.MustParse("64Mi"),
			}).
			WithLimits(corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")})).
		WithVolumeMounts(
			// Its own /tmp: nothing it writes there is visible to the scripts.
			corev1ac.VolumeMount().WithName(volumeFetchTmp).WithMountPath("/tmp"),
			corev1ac.VolumeMount().WithName(volumeSources).WithMountPath(SourcesPath),
		)
	pod.WithVolumes(corev1ac.Volume().WithName(volumeFetchTmp).WithEmptyDir(corev1ac.EmptyDirVolumeSource()))

	annotations := map[string]string{}
	for i := range n.Spec.Sources {
		s := &n.Spec.Sources[i]
		volume := credentialVolume(s.Credentials, i)
		if volume == nil {
			continue
		}
		index := strconv.Itoa(i)
		annotations[CredentialSourceAnnotationPrefix+index] = s.Path
		pod.WithVolumes(volume)
		fetch.WithVolumeMounts(corev1ac.VolumeMount().
			WithName(credentialVolumePrefix + index).
			WithMountPath(CredentialsPath + "/" + index).
			WithReadOnly(true))
	}
	return fetch, annotations
}

// credentialVolume is the volume of source index i's credentials, or nil when it has none: a projected
// volume with one projection per Secret, each referenced key mounted under its fixed file name
// (nuopv1alpha1.CredentialFiles), and nuopv1alpha1.CredentialSourceFile. The Secrets are optional, so a
// missing Secret or key does not keep the pod from starting: the fetch sidecar reports it in the
// NuOperator's status instead.
func credentialVolume(c *nuopv1alpha1.Credentials, i int) *corev1ac.VolumeApplyConfiguration {
	if c == nil {
		return nil
	}
	var secrets []string
	items := map[string][]*corev1ac.KeyToPathApplyConfiguration{}
	for _, f := range nuopv1alpha1.CredentialFiles {
		sel := f.Selector(c)
		if sel == nil {
			continue
		}
		if _, seen := items[sel.Name]; !seen {
			secrets = append(secrets, sel.Name)
		}
		items[sel.Name] = append(items[sel.Name], corev1ac.KeyToPath().WithKey(sel.Key).WithPath(f.File))
	}
	if len(secrets) == 0 {
		return nil
	}
	projected := corev1ac.ProjectedVolumeSource()
	for _, name := range secrets {
		projected.WithSources(corev1ac.VolumeProjection().WithSecret(
			corev1ac.SecretProjection().WithName(name).WithItems(items[name]...).WithOptional(true)))
	}
	index := strconv.Itoa(i)
	projected.WithSources(corev1ac.VolumeProjection().WithDownwardAPI(corev1ac.DownwardAPIProjection().WithItems(
		corev1ac.DownwardAPIVolumeFile().WithPath(nuopv1alpha1.CredentialSourceFile).WithFieldRef(corev1ac.ObjectFieldSelector().
			WithFieldPath(fmt.Sprintf("metadata.annotations['%s%s']", CredentialSourceAnnotationPrefix, index))))))
	return corev1ac.Volume().WithName(credentialVolumePrefix + index).WithProjected(projected)
}

// containerEnv is POD_NAMESPACE and HOME, then spec.env. Server-side apply refuses two entries of one name
// (env is a map keyed by name), and the kubelet lets the later of two win: the last entry of a name is kept,
// so spec.env may override HOME.
func containerEnv(extra []corev1.EnvVar) ([]*corev1ac.EnvVarApplyConfiguration, error) {
	all := append([]corev1.EnvVar{
		{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		// nu and kubectl write their config and caches under HOME; /tmp is the only writable path.
		{Name: "HOME", Value: "/tmp"},
	}, extra...)
	all = dedupeBy(all, func(e corev1.EnvVar) string { return e.Name })
	converted, err := convert[[]corev1ac.EnvVarApplyConfiguration](all)
	if err != nil {
		return nil, err
	}
	env := make([]*corev1ac.EnvVarApplyConfiguration, len(converted))
	for i := range converted {
		env[i] = &converted[i]
	}
	return env, nil
}

// managerResources are spec.resources, or the defaults when it is unset.
func managerResources(r *corev1.ResourceRequirements) (*corev1ac.ResourceRequirementsApplyConfiguration, error) {
	if r == nil {
		return corev1ac.ResourceRequirements().
			WithRequests(corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("50m"),
				corev1.ResourceMemory: resource.MustParse("64Mi"),
			}).
			WithLimits(corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}), nil
	}
	converted, err := convert[corev1ac.ResourceRequirementsApplyConfiguration](r)
	return &converted, err
}

func httpProbe(path, port string, initialDelay, period int32) *corev1ac.ProbeApplyConfiguration {
	return corev1ac.Probe().
		WithHTTPGet(corev1ac.HTTPGetAction().WithPath(path).WithPort(intstr.FromString(port))).
		WithInitialDelaySeconds(initialDelay).
		WithPeriodSeconds(period)
}

// containerSecurityContext meets the restricted Pod Security Standard.
func containerSecurityContext() *corev1ac.SecurityContextApplyConfiguration {
	return corev1ac.SecurityContext().
		WithRunAsNonRoot(true).
		WithReadOnlyRootFilesystem(true).
		WithAllowPrivilegeEscalation(false).
		WithCapabilities(corev1ac.Capabilities().WithDrop("ALL")).
		WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault))
}

// convert turns a value the user gave in the spec (env, tolerations, resources) into its apply
// configuration through JSON. Both have the same JSON form, and a field the user left out is absent from
// both; only the fields of the spec's value are applied.
func convert[T any](in any) (T, error) {
	var out T
	data, err := json.Marshal(in)
	if err != nil {
		return out, err
	}
	err = json.Unmarshal(data, &out)
	return out, err
}

// dedupeBy keeps the last entry of each key, in the order of those last entries.
func dedupeBy[T any](in []T, key func(T) string) []T {
	last := make(map[string]int, len(in))
	for i, e := range in {
		last[key(e)] = i
	}
	out := make([]T, 0, len(last))
	for i, e := range in {
		if last[key(e)] == i {
			out = append(out, e)
		}
	}
	return out
}
