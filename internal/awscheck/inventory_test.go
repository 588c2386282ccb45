package awscheck

import (
	"reflect"
	"sort"
	"testing"
)

// The inventory is the code's: each Use lists exactly its interface's methods, and every
// SDK client a caller holds (a struct field whose interface has SDK client methods) is in
// the inventory. Adding a call to an interface, or a new client field, fails here until the
// inventory (and so the policy check) knows it.
func TestInventoryMatchesCode(t *testing.T) {
	for _, u := range Inventory {
		t.Run(u.Caller+"/"+u.Interface.String(), func(t *testing.T) {
			var methods []string
			for i := 0; i < u.Interface.NumMethod(); i++ {
				m := u.Interface.Method(i)
				if svc := sdkService(m); svc != "" {
					if svc != u.Service {
						t.Errorf("%s.%s is a %s call, the inventory says %s", u.Interface, m.Name, svc, u.Service)
					}
					methods = append(methods, m.Name)
				}
			}
			var listed []string
			for m := range u.On {
				listed = append(listed, m)
			}
			sort.Strings(listed)
			if !reflect.DeepEqual(methods, listed) {
				t.Errorf("%s declares %v, the inventory lists %v: update Inventory (and the policies)", u.Interface, methods, listed)
			}
			for m, targets := range u.On {
				if len(targets) == 0 {
					t.Errorf("%s.%s: no target", u.Interface, m)
				}
			}
		})
	}
	for caller, holders := range Holders {
		t.Run("holders/"+caller, func(t *testing.T) {
			found := map[reflect.Type]bool{}
			for _, h := range holders {
				sdkFields(h, found, map[reflect.Type]bool{})
			}
			listed := map[reflect.Type]bool{}
			for _, u := range Inventory {
				if u.Caller == caller {
					listed[u.Interface] = true
				}
			}
			for typ := range found {
				if !covered(typ, listed) {
					t.Errorf("%s holds an SDK client of type %s that the inventory does not list", caller, typ)
				}
			}
			for typ := range listed {
				if !found[typ] {
					t.Errorf("the inventory lists %s for %s, which none of its holders %v has", typ, caller, holders)
				}
			}
		})
	}
}

// covered: typ is listed, or its methods are a subset of one listed interface's.
func covered(typ reflect.Type, listed map[reflect.Type]bool) bool {
	if listed[typ] {
		return true
	}
	for l := range listed {
		ok := true
		for i := 0; i < typ.NumMethod(); i++ {
			if _, has := l.MethodByName(typ.Method(i).Name); !has {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// sdkFields collects the interface types of t's fields (through embedded and nested
// structs and pointers) that have SDK client methods.
func sdkFields(t reflect.Type, found, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return
	}
	seen[t] = true
	for i := 0; i < t.NumField(); i++ {
		ft := t.Field(i).Type
		switch {
		case ft.Kind() == reflect.Interface:
			for j := 0; j < ft.NumMethod(); j++ {
				if sdkService(ft.Method(j)) != "" {
					found[ft] = true
					break
				}
			}
		default:
			sdkFields(ft, found, seen)
		}
	}
}

// The SDK-method test itself tells a client method from another.
func TestSDKService(t *testing.T) {
	for _, u := range Inventory {
		m, _ := u.Interface.MethodByName(firstKey(u.On))
		if got := sdkService(m); got != u.Service {
			t.Errorf("sdkService(%s.%s) = %q, want %q", u.Interface, m.Name, got, u.Service)
		}
	}
	var notSDK interface{ Close() error }
	if got := sdkService(reflect.TypeOf(&notSDK).Elem().Method(0)); got != "" {
		t.Errorf("sdkService(Close) = %q, want none", got)
	}
}

func firstKey(m map[string][]Target) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys[0]
}
