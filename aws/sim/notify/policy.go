package notify

import (
	"encoding/json"
	"strings"
)

// policyAllows decides whether a queue's access policy lets SNS topic
// topicARN send to it. Real SNS silently drops deliveries the queue policy
// does not allow, so the simulator evaluates the subset of IAM policy
// language such policies use: Allow/Deny, Principal "*" / {"AWS":"*"} /
// {"Service":"sns.amazonaws.com"}, Action and Resource with * and ?
// wildcards, and Condition operators ArnEquals, ArnLike, StringEquals,
// StringLike on aws:SourceArn, aws:SourceAccount and aws:SourceOwner.
// A statement using anything else (NotPrincipal, NotAction, NotResource,
// other operators or keys) never matches, so an Allow built on them does not
// allow; this errs towards the dropped delivery a person will notice.
func policyAllows(policy, queueARN, topicARN, account string) bool {
	if policy == "" {
		return false
	}
	var doc struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		return false
	}
	var stmts []policyStatement
	if err := json.Unmarshal(doc.Statement, &stmts); err != nil {
		var one policyStatement
		if err := json.Unmarshal(doc.Statement, &one); err != nil {
			return false
		}
		stmts = []policyStatement{one}
	}
	allowed := false
	for _, st := range stmts {
		if !st.matches(queueARN, topicARN, account) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

type policyStatement struct {
	Effect       string
	Principal    json.RawMessage
	NotPrincipal json.RawMessage
	Action       json.RawMessage
	NotAction    json.RawMessage
	Resource     json.RawMessage
	NotResource  json.RawMessage
	Condition    map[string]map[string]json.RawMessage
}

func (st policyStatement) matches(queueARN, topicARN, account string) bool {
	if st.NotPrincipal != nil || st.NotAction != nil || st.NotResource != nil {
		return false
	}
	if !principalMatches(st.Principal) {
		return false
	}
	actions, ok := stringsOf(st.Action)
	if !ok || !anyGlob(actions, "sqs:SendMessage", true) {
		return false
	}
	if st.Resource != nil {
		res, ok := stringsOf(st.Resource)
		if !ok || !anyGlob(res, queueARN, false) {
			return false
		}
	}
	for op, kv := range st.Condition {
		for key, raw := range kv {
			vals, ok := stringsOf(raw)
			if !ok {
				return false
			}
			var actual string
			switch strings.ToLower(key) {
			case "aws:sourcearn":
				actual = topicARN
			case "aws:sourceaccount", "aws:sourceowner":
				actual = account
			default:
				return false
			}
			var hit bool
			switch op {
			case "ArnEquals", "StringEquals":
				hit = contains(vals, actual)
			case "ArnLike", "StringLike":
				hit = anyGlob(vals, actual, false)
			default:
				return false
			}
			if !hit {
				return false
			}
		}
	}
	return true
}

func principalMatches(raw json.RawMessage) bool {
	if raw == nil {
		return false
	}
	if vals, ok := stringsOf(raw); ok {
		return contains(vals, "*")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return false
	}
	if vals, ok := stringsOf(m["AWS"]); ok && contains(vals, "*") {
		return true
	}
	if vals, ok := stringsOf(m["Service"]); ok && contains(vals, "sns.amazonaws.com") {
		return true
	}
	return false
}

// stringsOf reads a policy value that is a string or a list of strings.
func stringsOf(raw json.RawMessage) ([]string, bool) {
	if raw == nil {
		return nil, false
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, true
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err == nil {
		return many, true
	}
	return nil, false
}

func anyGlob(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			if glob(strings.ToLower(p), strings.ToLower(s)) {
				return true
			}
		} else if glob(p, s) {
			return true
		}
	}
	return false
}

// glob matches IAM wildcards: * any run, ? one character. Iterative with
// backtracking to the last star, so it is linear-ish on hostile input.
func glob(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
