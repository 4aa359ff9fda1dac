package fc

import "testing"

func TestPrincipalAllow(t *testing.T) {
	admin := Principal{KeyID: "LTAIadmin", Admin: true}
	full := Principal{KeyID: "LTAIfull"}
	invoke := Principal{KeyID: "LTAIinv", Scope: KeyScope{InvokeOnly: true}}
	scoped := Principal{KeyID: "LTAIres", Scope: KeyScope{Resources: []KeyResource{{Service: "a"}, {Service: "b", Function: "f"}}}}
	scopedInvoke := Principal{KeyID: "LTAIboth", Scope: KeyScope{InvokeOnly: true, Resources: []KeyResource{{Service: "b", Function: "f"}}}}
	for _, tc := range []struct {
		name              string
		p                 Principal
		action            Action
		service, function string
		allowed           bool
	}{
		{"admin manages keys", admin, ActionManageKeys, "", "", true},
		{"admin manages anything", admin, ActionManage, "", "", true},
		{"full key invokes", full, ActionInvoke, "a", "f", true},
		{"full key manages", full, ActionManage, "a", "", true},
		{"full key account-wide", full, ActionManage, "", "", true},
		{"full key may not manage keys", full, ActionManageKeys, "", "", false},
		{"admin reads the cluster's status", admin, ActionOperate, "", "", true},
		{"full key may not read the cluster's status", full, ActionOperate, "", "", false},
		{"invoke-only may not read the cluster's status", invoke, ActionOperate, "", "", false},
		{"invoke-only invokes", invoke, ActionInvoke, "x", "y", true},
		{"invoke-only may not manage", invoke, ActionManage, "x", "y", false},
		{"invoke-only may not list", invoke, ActionManage, "", "", false},
		{"invoke-only may not manage keys", invoke, ActionManageKeys, "", "", false},
		{"service scope: the service", scoped, ActionManage, "a", "", true},
		{"service scope: its functions", scoped, ActionInvoke, "a", "any", true},
		{"function scope: the function", scoped, ActionManage, "b", "f", true},
		{"function scope: not its service", scoped, ActionManage, "b", "", false},
		{"function scope: not a sibling", scoped, ActionInvoke, "b", "g", false},
		{"scope: another service", scoped, ActionInvoke, "c", "f", false},
		{"scope: no account-wide resources", scoped, ActionManage, "", "", false},
		{"scope: no prefix matching", scoped, ActionManage, "ab", "", false},
		{"scoped invoke-only invokes its function", scopedInvoke, ActionInvoke, "b", "f", true},
		{"scoped invoke-only: not another", scopedInvoke, ActionInvoke, "b", "g", false},
		{"scoped invoke-only: no management of its function", scopedInvoke, ActionManage, "b", "f", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Allow(tc.action, tc.service, tc.function)
			if tc.allowed {
				if err != nil {
					t.Fatalf("Allow = %v; want nil", err)
				}
				return
			}
			fe := AsError(err)
			if err == nil || fe.Code != CodeAccessDenied || fe.Code.Status() != 403 {
				t.Fatalf("Allow = %v; want 403 AccessDenied", err)
			}
		})
	}
}

func TestParseKeyResource(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want KeyResource
		ok   bool
	}{
		{"svc", KeyResource{Service: "svc"}, true},
		{"svc/fn", KeyResource{Service: "svc", Function: "fn"}, true},
		{"my-svc_1/fn-2", KeyResource{Service: "my-svc_1", Function: "fn-2"}, true},
		{"", KeyResource{}, false},
		{"/fn", KeyResource{}, false},
		{"svc/", KeyResource{}, false},
		{"a/b/c", KeyResource{}, false},
		{"svc.prod", KeyResource{}, false},
		{"1svc", KeyResource{}, false},
		{"svc/*", KeyResource{}, false},
	} {
		got, err := ParseKeyResource("resources[0]", tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("ParseKeyResource(%q) = %+v, %v; want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && AsError(err).Code != CodeInvalidArgument {
			t.Errorf("ParseKeyResource(%q): %v; want InvalidArgument", tc.in, err)
		}
		if err == nil && got.String() != tc.in {
			t.Errorf("%+v.String() = %q; want %q", got, got.String(), tc.in)
		}
	}
}
