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
	"strings"

	sdk "code.gitea.io/sdk/gitea"
	"sigs.k8s.io/controller-runtime/pkg/client"

	giteav1alpha1 "kemper.buzz/nuop/api/gitea/v1alpha1"
	"kemper.buzz/nuop/internal/giteaclient"
)

// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=labels,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=gitea.kemper.buzz,resources=labels/status,verbs=patch

// labels is the Label adapter.
type labels struct{}

func init() {
	registerKind("Label", func() *giteav1alpha1.Label { return &giteav1alpha1.Label{} },
		func() client.ObjectList { return &giteav1alpha1.LabelList{} }, Adapter[*giteav1alpha1.Label](labels{}))
}

// defaultLabelColor is the color of a label created without one: Gitea requires a color.
const defaultLabelColor = "#e4e4e4"

func (labels) Dependencies(l *giteav1alpha1.Label) []Dependency {
	return parentDependencies(l.Spec.RepositoryRef, nil)
}

func labelRepository(c *Conn, l *giteav1alpha1.Label) (owner, name string) {
	return splitRepository(repositoryOf(c, l.Spec.RepositoryReference, l.Status.AtProvider.Repository))
}

func (labels) Key(c *Conn, l *giteav1alpha1.Label) string {
	owner, repo := labelRepository(c, l)
	return strings.ToLower(owner+"/"+repo) + " " + l.Spec.Name
}

// Observe reads the label by the id the status recorded (it follows renames), else by name. Gitea does not
// keep label names unique: only an unambiguous match is adopted.
func (labels) Observe(ctx context.Context, c *Conn, l *giteav1alpha1.Label) (Observation, error) {
	owner, repo := labelRepository(c, l)
	label, err := findLabel(ctx, c, owner, repo, l.Status.ID, l.Spec.Name)
	if err != nil || label == nil {
		return Observation{}, err
	}
	l.Status.AtProvider = giteav1alpha1.LabelObservation{
		Repository:  owner + "/" + repo,
		Name:        label.Name,
		Color:       "#" + normalizeColor(label.Color),
		Description: label.Description,
		Exclusive:   label.Exclusive,
		Archived:    label.IsArchived,
	}
	_, fields := labelChanges(l, label)
	return Observation{Exists: true, ID: label.ID, Drift: fields, State: label}, nil
}

func findLabel(ctx context.Context, c *Conn, owner, repo string, id int64, name string) (*sdk.Label, error) {
	if id != 0 {
		label, resp, err := c.SDK.GetRepoLabel(owner, repo, id)
		if err = giteaclient.Wrap(resp, err); !giteaclient.IsNotFound(err) {
			return label, err
		}
	}
	all, err := giteaclient.ListAll(ctx, func(opt sdk.ListOptions) ([]*sdk.Label, *sdk.Response, error) {
		return c.SDK.ListRepoLabels(owner, repo, sdk.ListLabelsOptions{ListOptions: opt})
	})
	if giteaclient.IsNotFound(err) {
		return nil, repositoryMissing(owner + "/" + repo)
	}
	if err != nil {
		return nil, err
	}
	var found []*sdk.Label
	for _, label := range all {
		if label.Name == name {
			found = append(found, label)
		}
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return found[0], nil
	}
	return nil, reasonf(giteav1alpha1.ReasonConflict, "the repository %s/%s has %d labels named %q: delete all but one, "+
		"the operator adopts only an unambiguous label", owner, repo, len(found), name)
}

// labelChanges is the edit that makes label match the spec, and the names of the fields that differ.
// Gitea's edit unarchives a label unless it is sent is_archived, so that is always sent.
func labelChanges(l *giteav1alpha1.Label, label *sdk.Label) (sdk.EditLabelOption, []string) {
	s := &l.Spec
	var d drift
	opt := sdk.EditLabelOption{IsArchived: new(or(s.Archived, label.IsArchived))}
	if label.Name != s.Name {
		opt.Name = &s.Name
		d.check("name", true)
	}
	if s.Color != nil && normalizeColor(*s.Color) != normalizeColor(label.Color) {
		opt.Color = new("#" + normalizeColor(*s.Color))
		d.check("color", true)
	}
	if s.Description != nil && *s.Description != label.Description {
		opt.Description = s.Description
		d.check("description", true)
	}
	if s.Exclusive != nil && *s.Exclusive != label.Exclusive {
		opt.Exclusive = s.Exclusive
		d.check("exclusive", true)
	}
	d.boolean("archived", s.Archived, label.IsArchived)
	return opt, d.fields
}

// normalizeColor is a color as Gitea stores it, without the "#": six lower-case hex digits.
func normalizeColor(color string) string {
	color = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(color), "#"))
	if len(color) == 3 {
		color = string([]byte{color[0], color[0], color[1], color[1], color[2], color[2]})
	}
	return color
}

func (labels) Create(_ context.Context, c *Conn, l *giteav1alpha1.Label) error {
	owner, repo := labelRepository(c, l)
	opt := sdk.CreateLabelOption{
		Name:        l.Spec.Name,
		Color:       "#" + normalizeColor(or(l.Spec.Color, defaultLabelColor)),
		Description: deref(l.Spec.Description),
		Exclusive:   deref(l.Spec.Exclusive),
		IsArchived:  deref(l.Spec.Archived),
	}
	_, resp, err := c.SDK.CreateLabel(owner, repo, opt)
	return labelError(giteaclient.Wrap(resp, err), owner, repo)
}

// labelError explains a refused label write: Gitea keeps labels only where issues or pull requests are
// enabled, and answers 403 otherwise, even to a site admin.
func labelError(err error, owner, repo string) error {
	if giteaclient.IsForbidden(err) {
		return reasonf(giteav1alpha1.ReasonForbidden, "%v (labels need the issues or pull-requests unit of repository %s/%s, "+
			"and a repository that is not archived)", err, owner, repo)
	}
	return err
}

func (labels) Update(_ context.Context, c *Conn, l *giteav1alpha1.Label, observed Observation) error {
	owner, repo := labelRepository(c, l)
	label := observed.State.(*sdk.Label)
	opt, _ := labelChanges(l, label)
	_, resp, err := c.SDK.EditLabel(owner, repo, label.ID, opt)
	return labelError(giteaclient.Wrap(resp, err), owner, repo)
}

// Delete deletes the label by id; a label created just before a crash, with no id recorded, is found by
// name.
func (labels) Delete(ctx context.Context, c *Conn, l *giteav1alpha1.Label) error {
	owner, repo := labelRepository(c, l)
	id := l.Status.ID
	if id == 0 {
		label, err := findLabel(ctx, c, owner, repo, 0, l.Spec.Name)
		if err != nil || label == nil {
			return err
		}
		id = label.ID
	}
	resp, err := c.SDK.DeleteLabel(owner, repo, id)
	return labelError(giteaclient.Wrap(resp, err), owner, repo)
}
