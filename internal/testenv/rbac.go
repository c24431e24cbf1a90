package testenv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DefaultAllowedTimeout bounds [WaitAllowed] when ctx has no earlier deadline.
const DefaultAllowedTimeout = 60 * time.Second

// allowedPoll is the interval between two rounds of SubjectAccessReviews.
const allowedPoll = 100 * time.Millisecond

// Subject is who [WaitAllowed] asks about: a user name and its groups.
type Subject struct {
	User   string
	Groups []string
}

// WaitAllowed waits until the apiserver behind admin allows subject every request
// that rules grant, in namespace (empty: cluster-wide), as SubjectAccessReviews
// answer. Call it after creating a (Cluster)RoleBinding and before acting as the
// bound user: kube-apiserver's RBAC authorizer learns of a new binding through an
// informer, so a request sent a few milliseconds after the binding's creation can
// still be forbidden. A SubjectAccessReview goes through the same authorizer, so once
// every review allows, the user's own requests are allowed too.
//
// admin must be allowed to create SubjectAccessReviews (the admin client of a
// [Cluster] is). Wildcards in rules are asked as such ("*" verb or resource). The
// wait ends with an error naming the first request still denied when ctx ends or
// after [DefaultAllowedTimeout]. Bad input (no user, no rules, a rule without verbs)
// is an error naming the field.
func WaitAllowed(ctx context.Context, admin client.Client, subject Subject, namespace string, rules []rbacv1.PolicyRule) error {
	reviews, err := accessReviews(subject, namespace, rules)
	if err != nil {
		return err
	}
	if admin == nil {
		return errors.New("testenv: WaitAllowed: admin client is nil")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultAllowedTimeout)
		defer cancel()
	}
	tick := time.NewTicker(allowedPoll)
	defer tick.Stop()
	var lastDenied error
	for {
		denied, err := firstDenied(ctx, admin, reviews)
		if err == nil && denied == "" {
			return nil
		}
		switch {
		case err == nil:
			err = fmt.Errorf("still denied: %s", denied)
			lastDenied = err
		}
		select {
		case <-ctx.Done():
			if lastDenied != nil {
				// A review cut by the deadline or the client's rate limiter says
				// nothing new: the last answer stands.
				err = lastDenied
			}
			return fmt.Errorf("testenv: waiting until %s is allowed what its role grants: %w (%w)", subject.User, err, ctx.Err())
		case <-tick.C:
		}
	}
}

// firstDenied returns a description of the first review not allowed, "" if all are.
func firstDenied(ctx context.Context, admin client.Client, reviews []authorizationv1.SubjectAccessReview) (string, error) {
	for _, r := range reviews {
		r := r.DeepCopy()
		if err := admin.Create(ctx, r); err != nil {
			return "", fmt.Errorf("creating a SubjectAccessReview: %w", err)
		}
		if !r.Status.Allowed {
			return describeReview(r.Spec) + reason(r.Status), nil
		}
	}
	return "", nil
}

func reason(s authorizationv1.SubjectAccessReviewStatus) string {
	if s.Reason == "" && s.EvaluationError == "" {
		return ""
	}
	return fmt.Sprintf(" (%s)", strings.TrimSpace(s.Reason+" "+s.EvaluationError))
}

func describeReview(s authorizationv1.SubjectAccessReviewSpec) string {
	if n := s.NonResourceAttributes; n != nil {
		return n.Verb + " " + n.Path
	}
	a := s.ResourceAttributes
	res := a.Resource
	if a.Group != "" {
		res += "." + a.Group
	}
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	if a.Name != "" {
		res += " " + a.Name
	}
	if a.Namespace != "" {
		res += " in " + a.Namespace
	}
	return a.Verb + " " + res
}

// accessReviews expands rules into one SubjectAccessReview per verb, group,
// resource and name (the first listed name: a review asks about one object).
func accessReviews(subject Subject, namespace string, rules []rbacv1.PolicyRule) ([]authorizationv1.SubjectAccessReview, error) {
	if subject.User == "" {
		return nil, errors.New("testenv: WaitAllowed: subject.user is empty")
	}
	if len(rules) == 0 {
		return nil, errors.New("testenv: WaitAllowed: rules is empty")
	}
	base := authorizationv1.SubjectAccessReviewSpec{User: subject.User, Groups: subject.Groups}
	var out []authorizationv1.SubjectAccessReview
	for i, r := range rules {
		if len(r.Verbs) == 0 {
			return nil, fmt.Errorf("testenv: WaitAllowed: rules[%d].verbs is empty", i)
		}
		if len(r.NonResourceURLs) > 0 {
			for _, verb := range r.Verbs {
				for _, path := range r.NonResourceURLs {
					spec := base
					spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Verb: verb, Path: path}
					out = append(out, authorizationv1.SubjectAccessReview{Spec: spec})
				}
			}
			continue
		}
		if len(r.Resources) == 0 {
			return nil, fmt.Errorf("testenv: WaitAllowed: rules[%d].resources is empty", i)
		}
		groups := r.APIGroups
		if len(groups) == 0 {
			groups = []string{""}
		}
		name := ""
		if len(r.ResourceNames) > 0 {
			name = r.ResourceNames[0]
		}
		for _, verb := range r.Verbs {
			for _, g := range groups {
				for _, res := range r.Resources {
					resource, sub, _ := strings.Cut(res, "/")
					spec := base
					spec.ResourceAttributes = &authorizationv1.ResourceAttributes{
						Namespace: namespace, Verb: verb, Group: g, Resource: resource, Subresource: sub, Name: name,
					}
					out = append(out, authorizationv1.SubjectAccessReview{Spec: spec})
				}
			}
		}
	}
	return out, nil
}
