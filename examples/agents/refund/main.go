// Command refund is an example agent: it issues a refund in the demo app
// ("Acme Payments") and records it in auditshot with visual proof — a
// screenshot of the customer before, a video of the browser flow that signs
// in, fills and submits the refund form and waits until the refund settles,
// the refund_approved action with its reasoning, and a screenshot of the
// settled transaction after. See ../README.md.
//
//	refund --auditshot-url http://127.0.0.1:8080 --api-key ask_... --app-url http://127.0.0.1:8090
package main

import (
	"github.com/auditshot/auditshot/examples/agents/internal/agentcmd"
	"github.com/auditshot/auditshot/examples/agents/internal/scenario"
)

func main() { agentcmd.Main("refund", scenario.Refund) }
