// Command access is an example agent: it reviews a user's permissions in
// the demo app ("Acme Payments"), decides to revoke one it does not need,
// revokes it through the browser and records it in auditshot — screenshots
// of the permissions page before and after (which the server diffs), the
// decision with its reasoning, and the flow that saved the change. See
// ../README.md.
//
//	access --auditshot-url http://127.0.0.1:8080 --api-key ask_... --app-url http://127.0.0.1:8090
package main

import (
	"github.com/auditshot/auditshot/examples/agents/internal/agentcmd"
	"github.com/auditshot/auditshot/examples/agents/internal/scenario"
)

func main() { agentcmd.Main("access", scenario.Access) }
