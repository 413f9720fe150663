"""The agent: LLM client, prompts, the LangGraph pipeline and chat sessions.

Kept free of imports on purpose: `optiagent.agent.llm` is used by `opto` and `evals`, and
importing it must not pull in the graph (which itself imports `opto`).
"""
