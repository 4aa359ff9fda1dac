package daemon

import (
	"github.com/openfc/openfc/internal/codezip"
	"github.com/openfc/openfc/internal/config"
)

// codeLimits are the code limits of o, each naming the flag that raises
// it: the API checks uploads with them, the code cache unpacks with them.
func codeLimits(o *config.Options) codezip.Limits {
	flag := func(name string) string { return "openfc serve --" + name }
	return codezip.Limits{
		MaxZipBytes:      o.MaxCodeSize,
		MaxUnpackedBytes: o.MaxUnpackedCodeSize,
		MaxFiles:         o.MaxCodeFiles,
		Knobs: codezip.Knobs{
			ZipBytes:      flag(config.FlagMaxCodeSize),
			UnpackedBytes: flag(config.FlagMaxUnpackedCodeSize),
			Files:         flag(config.FlagMaxCodeFiles),
		},
	}
}
