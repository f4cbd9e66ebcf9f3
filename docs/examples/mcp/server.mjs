// An MCP server over stdio, written with the official SDK: the tools of docs/examples/mcp.ts's agent.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { z } from "zod"

const server = new McpServer({ name: "words", version: "1.0.0" })
server.registerTool("word.count", {
  description: "Counts the words of a text",
  inputSchema: { text: z.string() }
}, ({ text }) => ({ content: [{ type: "text", text: String(text.split(/\s+/).filter(Boolean).length) }] }))
server.registerTool("shout", {
  description: "Upper-cases a text",
  inputSchema: { text: z.string() }
}, ({ text }) => ({ content: [{ type: "text", text: text.toUpperCase() }] }))

await server.connect(new StdioServerTransport())
