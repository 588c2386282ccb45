package tfcheck

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var ctyString = cty.String

type hclDiags = hcl.Diagnostics
