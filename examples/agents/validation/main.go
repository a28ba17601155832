// Command validation is an example agent: it runs the demo app's ("Acme
// Payments") validation of a customer import and records it in auditshot —
// a video of the browser flow that runs it to completion, a note per check
// with its result, the decision on the import, and a screenshot of the
// final state. See ../README.md.
//
//	validation --auditshot-url http://127.0.0.1:8080 --api-key ask_... --app-url http://127.0.0.1:8090
package main

import (
	"github.com/auditshot/auditshot/examples/agents/internal/agentcmd"
	"github.com/auditshot/auditshot/examples/agents/internal/scenario"
)

func main() { agentcmd.Main("validation", scenario.Validation) }
