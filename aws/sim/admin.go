package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Admin endpoints, for tests and tools talking to a simulator over HTTP.
// They need no signature (the simulator listens on loopback and guards
// nothing of value) and cannot collide with Glacier paths, whose first
// segment is an account ID.
//
//	GET    /_sim/faults            {"faults":[Fault...],"fired":N,"firedByOp":{"Op":N}}
//	POST   /_sim/faults            body: a Fault, or {"faults":[Fault...]}; answers {"ids":[...]}
//	DELETE /_sim/faults            remove every rule and zero the counters
//	DELETE /_sim/faults?id=N       remove one rule
//	POST   /_sim/inventory         regenerate inventories now (?vault=NAME for one vault)
//	POST   /_sim/tick              complete due jobs and publish notifications now
//	POST   /_sim/clock             body {"advance":"24h"}: move a ManualClock (409 otherwise)
//	GET    /_sim/clock             {"now":"<RFC 3339>"}
//	GET    /_sim/stats             {"parts":{"<upload id>":{"<start>-<end>":N}}}: accepted parts since start

func (s *Sim) serveAdmin(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch path + " " + r.Method {
	case "/_sim/faults GET":
		adminJSON(w, http.StatusOK, s.faults.view())
	case "/_sim/faults POST":
		s.adminAddFaults(w, r)
	case "/_sim/faults DELETE":
		if id := r.URL.Query().Get("id"); id != "" {
			n, err := strconv.Atoi(id)
			if err != nil || !s.faults.Remove(n) {
				adminError(w, http.StatusNotFound, "no fault rule with id "+id)
				return
			}
		} else {
			s.faults.Clear()
		}
		w.WriteHeader(http.StatusNoContent)
	case "/_sim/inventory POST":
		if err := s.ForceInventory(r.URL.Query().Get("vault")); err != nil {
			adminError(w, http.StatusNotFound, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "/_sim/tick POST":
		if err := s.Tick(r.Context()); err != nil {
			adminError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "/_sim/stats GET":
		adminJSON(w, http.StatusOK, map[string]any{"parts": s.PartStats()})
	case "/_sim/clock GET":
		adminJSON(w, http.StatusOK, map[string]string{"now": s.clock.Now().UTC().Format(time.RFC3339Nano)})
	case "/_sim/clock POST":
		mc, ok := s.clock.(*ManualClock)
		if !ok {
			adminError(w, http.StatusConflict, "the simulator runs on the real clock; only a ManualClock can be moved")
			return
		}
		var in struct {
			Advance Duration `json:"advance"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil || in.Advance < 0 {
			adminError(w, http.StatusBadRequest, `body must be {"advance":"<duration>"} with a non-negative duration`)
			return
		}
		mc.Advance(time.Duration(in.Advance))
		adminJSON(w, http.StatusOK, map[string]string{"now": mc.Now().UTC().Format(time.RFC3339Nano)})
	default:
		adminError(w, http.StatusNotFound, "unknown admin endpoint "+r.Method+" "+r.URL.Path)
	}
}

func (s *Sim) adminAddFaults(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	var batch struct {
		Faults []Fault `json:"faults"`
	}
	var rules []Fault
	if json.Unmarshal(body, &batch) == nil && batch.Faults != nil {
		rules = batch.Faults
	} else {
		var one Fault
		if err := json.Unmarshal(body, &one); err != nil {
			adminError(w, http.StatusBadRequest, "body must be a fault rule or {\"faults\":[...]}: "+err.Error())
			return
		}
		rules = []Fault{one}
	}
	ids := []int{}
	for _, f := range rules {
		id, err := s.faults.Add(f)
		if err != nil {
			for _, done := range ids {
				s.faults.Remove(done)
			}
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		ids = append(ids, id)
	}
	adminJSON(w, http.StatusOK, map[string][]int{"ids": ids})
}

// ForceInventory regenerates the inventory of one vault (or of every vault
// when name is empty) at the Clock's current time, as if Glacier's daily
// inventory had just run. A vault that never had an inventory gets one, even
// if empty, so that inventory jobs and DeleteVault can proceed in tests.
func (s *Sim) ForceInventory(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for n, v := range s.vaults {
		if name != "" && n != name {
			continue
		}
		if err := s.advanceVault(v, now); err != nil {
			return err
		}
		if err := s.forceInventory(v, now); err != nil {
			return err
		}
	}
	if name != "" && s.vaults[name] == nil {
		return &apiError{status: http.StatusNotFound, code: "ResourceNotFoundException", message: "no vault named " + name}
	}
	return nil
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func adminError(w http.ResponseWriter, status int, msg string) {
	adminJSON(w, status, map[string]string{"error": msg})
}
