package fc

import (
	"math"
	"strconv"
)

// Version is a published, immutable snapshot of a service's functions
// (FC 2.0 versions are per service). Its id is "1", "2", … per service,
// never reused after a delete.
type Version struct {
	VersionID        string `json:"versionId"`
	Description      string `json:"description"`
	CreatedTime      string `json:"createdTime"`
	LastModifiedTime string `json:"lastModifiedTime"`
}

// Alias names a version of a service, optionally with one more version
// taking a share of the requests (a canary).
type Alias struct {
	AliasName   string `json:"aliasName"`
	VersionID   string `json:"versionId"`
	Description string `json:"description"`
	// AdditionalVersionWeight maps a version id to the share of requests
	// (0 to 1) it takes from VersionID.
	AdditionalVersionWeight map[string]float64 `json:"additionalVersionWeight"`
	CreatedTime             string             `json:"createdTime"`
	LastModifiedTime        string             `json:"lastModifiedTime"`
}

// MaxDescription is the longest description FC accepts on versions and
// aliases.
const MaxDescription = 256

// IsVersionID reports whether q is a version number (a qualifier that
// names a version rather than an alias).
func IsVersionID(q string) bool {
	n, err := strconv.ParseUint(q, 10, 32)
	return err == nil && n > 0 && strconv.FormatUint(n, 10) == q
}

// QualifierNotFound is the error for a qualifier that names nothing:
// VersionNotFound for digits, AliasNotFound otherwise.
func QualifierNotFound(service, qualifier string) *Error {
	if _, err := strconv.Atoi(qualifier); err == nil {
		return Errorf(CodeVersionNotFound, "version '%s' of service '%s' does not exist", qualifier, service)
	}
	return Errorf(CodeAliasNotFound, "alias '%s' of service '%s' does not exist", qualifier, service)
}

// ValidateVersion checks a version about to be published.
func ValidateVersion(v *Version) error {
	if len(v.Description) > MaxDescription {
		return invalid("description is longer than %d characters", MaxDescription)
	}
	return nil
}

// ValidateAlias checks an alias against FC's rules: its name (FC's name
// alphabet, 1 to 128 characters, not LATEST), a version that exists, at
// most one additional version, other than the main one and existing, with
// a weight from 0 to 1 (FC documents [0.0, 1.0]).
func ValidateAlias(a *Alias, versionExists func(id string) bool) error {
	if err := ValidateName("aliasName", a.AliasName, 128); err != nil {
		return err
	}
	if a.AliasName == LATEST {
		return invalid("aliasName cannot be %s", LATEST)
	}
	if len(a.Description) > MaxDescription {
		return invalid("description is longer than %d characters", MaxDescription)
	}
	if a.VersionID == "" {
		return invalid("versionId is required")
	}
	if !IsVersionID(a.VersionID) || !versionExists(a.VersionID) {
		return Errorf(CodeVersionNotFound, "version '%s' does not exist", a.VersionID)
	}
	if len(a.AdditionalVersionWeight) > 1 {
		return invalid("additionalVersionWeight may name one version only, got %d", len(a.AdditionalVersionWeight))
	}
	for id, w := range a.AdditionalVersionWeight {
		switch {
		case id == a.VersionID:
			return invalid("additionalVersionWeight names version '%s', the alias's own version", id)
		case !IsVersionID(id) || !versionExists(id):
			return Errorf(CodeVersionNotFound, "version '%s' in additionalVersionWeight does not exist", id)
		case math.IsNaN(w) || w < 0 || w > 1:
			return invalid("the weight of version '%s' is %v: use 0 to 1", id, w)
		}
	}
	return nil
}

// PickVersion chooses the version a request to alias a goes to: u, drawn
// uniformly from [0, 1), below the additional version's weight picks it,
// otherwise the main version. Pure, so that the split can be tested with
// any source of u.
func PickVersion(a *Alias, u float64) string {
	for id, w := range a.AdditionalVersionWeight { // at most one (ValidateAlias)
		if u < w {
			return id
		}
	}
	return a.VersionID
}
