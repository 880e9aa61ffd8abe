"""The routing loop's alarm: a sleeper wakes when it is set or when its timeout passes."""

from __future__ import annotations

import asyncio

import pytest

from router.alarm import Alarm


async def test_setting_wakes_the_sleeper() -> None:
    alarm = Alarm()
    sleeper = asyncio.create_task(alarm.wait())
    await asyncio.sleep(0)
    alarm.set()
    await asyncio.wait_for(sleeper, 5)
    assert alarm.is_set()


async def test_a_set_alarm_does_not_sleep() -> None:
    alarm = Alarm()
    alarm.set()
    sleeper = asyncio.ensure_future(alarm.wait())
    await asyncio.sleep(0)
    assert sleeper.done()


async def test_a_cleared_alarm_sleeps_until_set_again() -> None:
    alarm = Alarm()
    alarm.set()
    alarm.clear()
    sleeper = asyncio.create_task(alarm.wait())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not sleeper.done()
    alarm.set()
    await asyncio.wait_for(sleeper, 5)


async def test_the_timeout_wakes_an_unset_alarm() -> None:
    alarm = Alarm()
    await asyncio.wait_for(alarm.wait(0.01), 5)
    assert not alarm.is_set()


async def test_a_past_deadline_does_not_sleep() -> None:
    sleeper = asyncio.ensure_future(Alarm().wait(-1.0))
    for _ in range(3):
        await asyncio.sleep(0)
    assert sleeper.done()


async def test_a_past_deadline_lets_the_loops_other_callbacks_run_first() -> None:
    ran: list[bool] = []
    asyncio.get_running_loop().call_soon(ran.append, True)
    await Alarm().wait(0.0)
    assert ran == [True]


async def test_a_cancelled_sleep_leaves_the_alarm_usable() -> None:
    alarm = Alarm()
    sleeper = asyncio.create_task(alarm.wait())
    await asyncio.sleep(0)
    sleeper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeper
    again = asyncio.create_task(alarm.wait())
    await asyncio.sleep(0)
    alarm.set()
    await asyncio.wait_for(again, 5)
