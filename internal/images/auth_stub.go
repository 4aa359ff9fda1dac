package images

// This file is replaced by the images part (which defines Auth with the
// store): a stand-in so that the instance manager builds against the
// agreed name. Delete it when the real images.Store arrives.

// Auth is a registry login; nil means the operator's docker config, else
// anonymous.
type Auth struct {
	Username, Password string
}
