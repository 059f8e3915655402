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

package gitea

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	sdk "code.gitea.io/sdk/gitea"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
	"kemper.buzz/nuop/internal/truncate"
)

// ProviderReconciler checks each GiteaProvider's connection and keeps its client in the shared cache.
type ProviderReconciler struct {
	client    client.Client
	apiReader client.Reader
	recorder  recorder.EventRecorder
	clients   *giteaclient.Cache
	opts      ProviderOptions
}

// minimumVersion is MinimumGiteaVersion parsed once.
var minimumVersion = utilversion.MustParseGeneric(giteav1alpha1.MinimumGiteaVersion)

// supported says whether a Gitea of this version (as /api/v1/version says it: 1.26.0, 1.22.3+dev-12-g1234,
// 1.23.0-rc1) is one the operator works with.
func supported(version string) bool {
	v, err := utilversion.ParseGeneric(version)
	return err == nil && !v.LessThan(minimumVersion)
}

// Reconcile checks the provider's connection, or, once it is being deleted, waits for the resources that
// use it and then lets it go.
func (r *ProviderReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	p := &giteav1alpha1.GiteaProvider{}
	if err := r.client.Get(ctx, req.NamespacedName, p); err != nil {
		if apierrors.IsNotFound(err) {
			r.clients.Delete(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	users, err := r.users(ctx, p)
	if err != nil {
		return ctrl.Result{}, err
	}
	if !p.DeletionTimestamp.IsZero() {
		return r.deleting(ctx, p, users)
	}
	if controllerutil.AddFinalizer(p, giteav1alpha1.ProviderFinalizer) {
		if err := r.client.Update(ctx, p); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}

	orig := p.DeepCopy()
	result := r.check(ctx, p)
	r.setStatus(p, result, users)
	if err := r.patchStatus(ctx, orig, p); err != nil {
		return ctrl.Result{}, err
	}
	if result.retry != nil {
		// A Gitea that does not answer is tried again with the controller's backoff (capped at 5 minutes),
		// not only every checkInterval.
		return ctrl.Result{}, result.retry
	}
	return ctrl.Result{RequeueAfter: p.Spec.CheckInterval.Duration}, nil
}

// checkResult is what one connection check found.
type checkResult struct {
	reason, message string
	version, user   string
	siteAdmin       bool
	// checked is false when the check stopped before calling Gitea (a missing Secret).
	checked bool
	// tokenSecretName is the Secret holding the token the provider created, if it uses one.
	tokenSecretName string
	// retry is set when the failure is worth a retry with backoff (Gitea unreachable, an API error).
	retry error
}

// check resolves the provider's spec and Secrets into a client, puts it in the cache and asks Gitea who it
// is and which version it runs.
func (r *ProviderReconciler) check(ctx context.Context, p *giteav1alpha1.GiteaProvider) checkResult {
	res := checkResult{tokenSecretName: p.Status.TokenSecretName}
	cfg, creds, err := r.clientConfig(ctx, p)
	if err != nil {
		return res.failed(err)
	}

	res.checked = true
	minted := creds.token == ""
	if minted {
		token, secretName, err := r.ensureToken(ctx, p, cfg, creds, false)
		if err != nil {
			return res.failed(err)
		}
		res.tokenSecretName, cfg.Token = secretName, token
	} else {
		if err := r.forgetToken(ctx, p); err != nil {
			return res.failed(err)
		}
		res.tokenSecretName = ""
	}
	key := client.ObjectKeyFromObject(p)
	cl, err := r.clients.Put(key, cfg)
	if err != nil {
		return res.failed(err)
	}
	info, self, err := ask(ctx, cl)
	if giteaclient.IsUnauthorized(err) && minted {
		// The token the provider created was revoked or expired: create another (Gitea keeps the password).
		var token string
		if token, res.tokenSecretName, err = r.ensureToken(ctx, p, cfg, creds, true); err != nil {
			return res.failed(err)
		}
		cfg.Token = token
		if cl, err = r.clients.Put(key, cfg); err != nil {
			return res.failed(err)
		}
		info, self, err = ask(ctx, cl)
	}
	if err != nil {
		return res.failed(err)
	}
	res.version = info.Version
	if !supported(info.Version) {
		res.reason = giteav1alpha1.ReasonUnsupportedVersion
		res.message = fmt.Sprintf("Gitea %q is not supported: the oldest supported version is %s", info.Version,
			giteav1alpha1.MinimumGiteaVersion)
		return res
	}
	res.reason, res.user, res.siteAdmin = giteav1alpha1.ReasonConnected, self.UserName, self.IsAdmin
	role := "not a site admin"
	if self.IsAdmin {
		role = "a site admin"
	}
	res.message = fmt.Sprintf("connected to Gitea %s as %s (%s)", info.Version, self.UserName, role)
	return res
}

// clientConfig resolves the provider's spec and Secrets into a client Config, with the token of the
// credentials Secret if it holds one (else the Config has no token yet, and creds the username and password
// to get one with).
func (r *ProviderReconciler) clientConfig(ctx context.Context, p *giteav1alpha1.GiteaProvider) (
	giteaclient.Config, credentials, error) {
	creds, err := r.readCredentials(ctx, p)
	if err != nil {
		return giteaclient.Config{}, creds, err
	}
	ca, err := r.readCABundle(ctx, p)
	if err != nil {
		return giteaclient.Config{}, creds, err
	}
	cfg := giteaclient.Config{
		URL:          p.Spec.URL,
		Token:        creds.token,
		CABundle:     ca,
		Timeout:      p.Spec.Timeout.Duration,
		QPS:          float64(p.Spec.QPS),
		Burst:        int(p.Spec.Burst),
		Provider:     client.ObjectKeyFromObject(p).String(),
		AllowedHosts: r.opts.AllowedHosts,
		Metrics:      r.opts.Metrics,
		Clock:        r.opts.Clock,
	}
	if p.Spec.TLS != nil {
		cfg.InsecureSkipVerify = p.Spec.TLS.InsecureSkipVerify
	}
	return cfg, creds, nil
}

// ask is the connection check: the server's version and who the credentials are (Gitea refuses a bad
// token even on the version call).
func ask(ctx context.Context, cl *giteaclient.Client) (giteaclient.ServerInfo, *sdk.User, error) {
	info, err := cl.ServerInfo(ctx)
	if err != nil {
		return info, nil, err
	}
	self, err := cl.Self(ctx)
	return info, self, err
}

// failed turns an error into the reason a human can act on.
func (res checkResult) failed(err error) checkResult {
	res.message = err.Error()
	if re, ok := errors.AsType[*reasonError](err); ok {
		// What the provider's spec or its Secrets got wrong: SecretNotFound, TLSError or InvalidSpec.
		res.reason = re.reason
		return res
	}
	switch {
	case giteaclient.IsUnauthorized(err), giteaclient.IsForbidden(err):
		res.reason = giteav1alpha1.ReasonUnauthorized
		res.message = "Gitea refused the credentials: " + err.Error()
	case giteaclient.IsTLS(err):
		res.reason = giteav1alpha1.ReasonTLSError
		res.message = "Gitea's certificate could not be verified (set tls.caBundle to the CA that signs it): " + err.Error()
	case giteaclient.IsNotAllowed(err):
		res.reason = giteav1alpha1.ReasonInvalidSpec
	case giteaclient.IsNotFound(err):
		res.reason = giteav1alpha1.ReasonInvalidSpec
		res.message = "the url does not serve the Gitea API (check it, and the sub-path Gitea is served under): " + err.Error()
	case giteaclient.IsUnreachable(err), giteaclient.IsUnavailable(err), giteaclient.IsRateLimited(err):
		res.reason = giteav1alpha1.ReasonUnreachable
		res.retry = err
	default:
		// A Kubernetes API error while reading the Secrets: not the user's to fix, so retried.
		res.reason = giteav1alpha1.ReasonUnreachable
		res.retry = err
	}
	return res
}

// deleting lets a provider go once no resource uses it. Until then its client stays in the cache (even if
// its Secret is already gone, as when its namespace is being deleted) so those resources can still delete
// their Gitea objects. A manager that starts while the provider is being deleted (a restart, a new leader)
// has no client for it yet: it builds one from the provider's Secrets if they are still there.
func (r *ProviderReconciler) deleting(ctx context.Context, p *giteav1alpha1.GiteaProvider, users []string) (ctrl.Result, error) {
	if len(users) > 0 {
		orig := p.DeepCopy()
		msg := fmt.Sprintf("waiting for %d resources that use the provider to be deleted: %s", len(users), names(users))
		if err := r.keepClient(ctx, p); err != nil {
			msg += fmt.Sprintf("; they cannot delete their Gitea objects, as the provider's client cannot be built (%v): "+
				"set deletionPolicy: Orphan on them to let them go", err)
		}
		r.setCondition(p, giteav1alpha1.ConditionReady, metav1.ConditionFalse, giteav1alpha1.ReasonDeleting, "%s", msg)
		r.setUsers(p, users)
		// The resources' own deletions requeue the provider (they watch it); this is the safety net.
		return ctrl.Result{RequeueAfter: time.Minute}, r.patchStatus(ctx, orig, p)
	}
	if controllerutil.RemoveFinalizer(p, giteav1alpha1.ProviderFinalizer) {
		if err := r.client.Update(ctx, p); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	r.clients.Delete(client.ObjectKeyFromObject(p))
	return ctrl.Result{}, nil
}

// keepClient makes sure the cache holds a client for p, building it from p's spec and Secrets when it does
// not. A token the provider created from a username and password is taken from its Secret; only if that is
// gone too is another created.
func (r *ProviderReconciler) keepClient(ctx context.Context, p *giteav1alpha1.GiteaProvider) error {
	key := client.ObjectKeyFromObject(p)
	if _, ok := r.clients.Get(key); ok {
		return nil
	}
	cfg, creds, err := r.clientConfig(ctx, p)
	if err != nil {
		return err
	}
	if cfg.Token == "" {
		if cfg.Token, _, err = r.ensureToken(ctx, p, cfg, creds, false); err != nil {
			return err
		}
	}
	_, err = r.clients.Put(key, cfg)
	return err
}

// setStatus writes a check's result into p's status, with an event when Ready changes.
func (r *ProviderReconciler) setStatus(p *giteav1alpha1.GiteaProvider, res checkResult, users []string) {
	var before string
	if c := meta.FindStatusCondition(p.Status.Conditions, giteav1alpha1.ConditionReady); c != nil {
		before = c.Reason // a copy: setCondition changes the condition in place
	}
	status := metav1.ConditionFalse
	if res.reason == giteav1alpha1.ReasonConnected {
		status = metav1.ConditionTrue
	}
	r.setCondition(p, giteav1alpha1.ConditionReady, status, res.reason, "%s", res.message)
	if before != res.reason {
		eventType := "Warning"
		if status == metav1.ConditionTrue {
			eventType = "Normal"
		}
		r.recorder.Eventf(p, nil, eventType, res.reason, "Check", "%s", truncate.String(res.message, maxEventNote))
	}
	if res.checked {
		now := metav1.NewTime(r.opts.Clock.Now())
		p.Status.LastCheckTime = &now
	}
	if res.version != "" {
		p.Status.Version = res.version
	}
	if res.reason == giteav1alpha1.ReasonConnected {
		p.Status.User, p.Status.SiteAdmin = res.user, res.siteAdmin
	}
	p.Status.TokenSecretName = res.tokenSecretName
	p.Status.ObservedGeneration = p.Generation
	r.setUsers(p, users)
}

// setUsers records which resources use p.
func (r *ProviderReconciler) setUsers(p *giteav1alpha1.GiteaProvider, users []string) {
	p.Status.Resources = int32(len(users)) //nolint:gosec // a count of listed objects
	if len(users) == 0 {
		r.setCondition(p, giteav1alpha1.ConditionInUse, metav1.ConditionFalse, giteav1alpha1.ReasonUnused,
			"no resource uses the provider")
		return
	}
	r.setCondition(p, giteav1alpha1.ConditionInUse, metav1.ConditionTrue, giteav1alpha1.ReasonResourcesReference,
		"used by %d resources: %s", len(users), names(users))
}

func (r *ProviderReconciler) setCondition(p *giteav1alpha1.GiteaProvider, condType string, status metav1.ConditionStatus,
	reason, format string, args ...any) {
	setCondition(&p.Status.Conditions, p.Generation, r.opts.Clock.Now(), condType, status, reason, fmt.Sprintf(format, args...))
}

// patchStatus writes p's status if it changed since orig.
func (r *ProviderReconciler) patchStatus(ctx context.Context, orig, p *giteav1alpha1.GiteaProvider) error {
	if reflect.DeepEqual(orig.Status, p.Status) {
		return nil
	}
	err := r.client.Status().Patch(ctx, p, client.MergeFrom(orig))
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		logf.FromContext(ctx).Info("status not written; retrying", "error", err.Error())
	}
	return err
}

// names lists at most ten resources, then how many more.
func names(users []string) string {
	const shown = 10
	if len(users) <= shown {
		return fmt.Sprint(users)
	}
	return fmt.Sprintf("%v and %d more", users[:shown], len(users)-shown)
}
