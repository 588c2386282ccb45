package rotationtest

import (
	"runtime"

	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// hostArchitecture is the Lambda architecture of the bootstraps BuildFunction makes.
func hostArchitecture() ltypes.Architecture {
	if runtime.GOARCH == "arm64" {
		return ltypes.ArchitectureArm64
	}
	return ltypes.ArchitectureX8664
}
