"""A long-running agent loop: plan, act, observe, repeat until the goal is met, with a bound
on the number of turns.

Each turn is a few durable steps (the planner's decision, the tool call) named after the turn,
so replay finds every recorded decision and never asks the planner again. When a tool reports
that it is rate-limited, the agent waits durably (the function is not running, and not billed,
meanwhile) before its next turn. The loop stops at the goal or after `max_turns`, so a planner
that never converges cannot run forever.

    durable-async run examples/agent_loop.py:handler \\
        --input '{"start": 3, "goal": 40, "max_turns": 10}'

The planner here is a stand-in for a model call: it doubles the value while that keeps it at
or under the goal, and otherwise moves it towards the goal by at most five. Every third tool
call is rate-limited. With `"max_turns": 5` the same input stops short of the goal.
"""

from __future__ import annotations

from typing import Any

from durable_async import DurableContext, durable_execution


def plan(value: int, goal: int) -> dict[str, Any]:
    """Choose the next action (a model call in a real agent)."""
    if value > 0 and value * 2 <= goal:
        return {"tool": "double", "argument": value}
    return {"tool": "add", "argument": value, "amount": max(-5, min(5, goal - value))}


def act(action: dict[str, Any], turn: int) -> dict[str, Any]:
    """Run the chosen tool; it asks for a pause after every third call."""
    argument = action["argument"]
    value = argument * 2 if action["tool"] == "double" else argument + action["amount"]
    return {"value": value, "rate_limited": turn % 3 == 2}


@durable_execution
async def handler(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    value, goal = int(event["start"]), int(event["goal"])
    max_turns = int(event.get("max_turns", 20))
    trace: list[str] = []
    for turn in range(max_turns):
        if value == goal:
            break
        action = await ctx.step(plan, value, goal, name=f"plan-{turn}")
        observation = await ctx.step(act, action, turn, name=f"act-{turn}")
        value = observation["value"]
        trace.append(f"{action['tool']} -> {value}")
        if observation["rate_limited"]:
            await ctx.wait(30, name=f"back-off-{turn}")
    return {"value": value, "reached": value == goal, "turns": len(trace), "trace": trace}
