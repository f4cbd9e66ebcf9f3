import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { Effect } from "effect"
import type { Message, WorkspacePaths } from "effect-swarm"

export const FsLive = NodeFileSystem.layer

export const tempRoot = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "es-ws-" }))

export const ref: WorkspacePaths.InstanceRef = { workspaceId: "default", agentName: "coder", instanceKey: "thread:42" }

export const msg = (id: string, content: string, role: Message.Role = "user"): Message.Message => ({
  id,
  data: { role, content },
  metadata: {},
  createdAt: new Date(1_700_000_000_000),
  source: role === "tool" ? { type: "tool", toolCallId: "c", toolName: "t" } : { type: role }
})
