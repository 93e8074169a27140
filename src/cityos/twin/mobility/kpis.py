"""KPIs of a simulated day, their hub entities (written all or nothing), plots and comparison.

KPIs (``docs/mobility.md`` defines each): cars owned; cars running (private cars that made a
trip, plus the shared cars and taxis the day's trips need at a turnover of 6 and 20 trips per
vehicle-day); mode shares by the home's side of the ring; commute minutes per commuter-day;
shuttle requests, rejection rate, wait and detour distributions; vehicle-km by mode; CO2 [kg];
and the same travel KPIs for each persona. Ratios to the baseline are added when a baseline run
of the same seed is given.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from cityos.twin.mobility.choice import MODES
from cityos.twin.mobility.day import DayResult
from cityos.twin.personas import PERSONAS

#: Trips per shared car and per taxi in a day (turnover) [trips/vehicle-day].
SHARED_CAR_TURNOVER, TAXI_TURNOVER = 6, 20
#: Well-to-wheel CO2 per vehicle-km [kg/km]: petrol car, EV shared car, LPG taxi, electric
#: shuttle, electric BRT bus (Korean grid ~0.46 kg CO2/kWh).
CO2_KG_PER_KM = {"car": 0.17, "sharedCar": 0.08, "taxi": 0.16, "shuttle": 0.14, "brt": 0.55}
#: BRT kilometres run inside 5-1 on a day: 216 runs over the spine between the two stops.
BRT_RUNS = 216


def _share(modes: np.ndarray) -> dict[str, float]:
    total = len(modes)
    counts = Counter(modes.tolist())
    return {m: round(counts.get(m, 0) / total, 4) if total else 0.0 for m in MODES}


def _commute(result: DayResult, sel: np.ndarray) -> float:
    trips = result.trips
    mask = trips.commute & sel
    per: dict[int, float] = defaultdict(float)
    for p, t in zip(trips.person[mask], result.time_min[mask], strict=True):
        per[int(p)] += float(t)
    return round(float(np.mean(list(per.values()))), 2) if per else 0.0


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1) if values else 0.0


def compute_kpis(result: DayResult, baseline: DayResult | None = None) -> dict[str, Any]:
    """The KPIs of a day (plain JSON-able dict); ``baseline`` adds ratios to it."""
    trips, people, mode = result.trips, result.people, result.mode
    home_inside = people.inside_ring[trips.person]
    adult = people.age[trips.person] >= 18
    hh = np.array([p.household for p in result.city.population.persons])
    private_running = len(set(hh[trips.person[(mode == "car") & adult]].tolist()))
    shared_running = math.ceil(int((mode == "sharedCar").sum()) / SHARED_CAR_TURNOVER)
    taxis_running = math.ceil(int((mode == "taxi").sum()) / TAXI_TURNOVER)
    served = result.shuttle.served
    waits = [w for w, _r, _d in served.values()]
    detours = [r / d for _w, r, d in served.values() if d > 0]
    vkm = {m: round(float(result.car_km[mode == m].sum()), 1) for m in ("car", "sharedCar", "taxi")}
    vkm["shuttle"] = round(result.shuttle.vehicle_km, 1)
    brt = [a for a in result.city.amenities if a.kind == "TransitStop" and a.category == "brt"]
    spine = math.dist((brt[0].x, brt[0].y), (brt[-1].x, brt[-1].y)) if len(brt) > 1 else 0.0
    vkm["brt"] = round(BRT_RUNS * spine / 1000, 1)
    co2 = round(sum(vkm[m] * CO2_KG_PER_KM[m] for m in vkm), 1)
    requests = result.shuttle_requests
    kpis: dict[str, Any] = {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "persons": len(people.age),
        "trips": len(trips),
        "carsOwned": result.cars_owned,
        "carsRunning": private_running + shared_running + taxis_running,
        "privateCarsRunning": private_running,
        "sharedCarsRunning": shared_running,
        "taxisRunning": taxis_running,
        "shuttlesUsed": result.shuttle.vehicles_used,
        "modeShareInside": _share(mode[home_inside]),
        "modeShareOutside": _share(mode[~home_inside]),
        "carShareInside": _share(mode[home_inside])["car"],
        "carShareOutside": _share(mode[~home_inside])["car"],
        "commuteMinPerPersonDay": _commute(result, np.ones(len(trips), dtype=bool)),
        "meanTripMin": round(float(result.time_min.mean()), 2),
        "shuttleRequests": requests,
        "shuttleRejectionRate": round(len(result.shuttle.rejected) / requests, 4)
        if requests
        else 0.0,
        "shuttleWaitS": {
            "mean": round(float(np.mean(waits)), 1) if waits else 0.0,
            "p50": _pct(waits, 50),
            "p95": _pct(waits, 95),
        },
        "shuttleDetour": {
            "mean": round(float(np.mean(detours)), 3) if detours else 0.0,
            "p95": round(float(np.percentile(detours, 95)), 3) if detours else 0.0,
        },
        "shuttleEmptyKm": round(result.shuttle.empty_km, 1),
        "vehicleKm": vkm,
        "co2Kg": co2,
        "personas": {},
    }
    for persona in PERSONAS:
        who = np.flatnonzero(people.persona == persona)
        sel = np.isin(trips.person, who)
        kpis["personas"][persona] = {
            "trips": int(sel.sum()),
            "modes": dict(Counter(mode[sel].tolist())),
            "travelMin": round(float(result.time_min[sel].sum()), 1),
            "commuteMin": _commute(result, sel),
        }
    if baseline is not None:
        base = compute_kpis(baseline)
        kpis["ratioToBaseline"] = {
            k: round(kpis[k] / base[k], 3) if base[k] else None
            for k in ("carsOwned", "carsRunning", "commuteMinPerPersonDay", "co2Kg")
        }
    return kpis


def kpi_entities(kpis: dict[str, Any]) -> list[dict[str, Any]]:
    """The KPIs as NGSI-LD entities: one MobilityScenarioResult and one per persona."""
    base = f"{kpis['scenario']}:seed{kpis['seed']}"
    scalars = {k: v for k, v in kpis.items() if k not in ("personas", "scenario", "seed")}
    main: dict[str, Any] = {
        "id": f"urn:ngsi-ld:MobilityScenarioResult:{base}",
        "type": "MobilityScenarioResult",
        "scenarioName": {"type": "Property", "value": kpis["scenario"]},
        "seed": {"type": "Property", "value": kpis["seed"]},
    }
    for k, v in scalars.items():
        main[k] = {"type": "Property", "value": v}
    out = [main]
    for persona, values in kpis["personas"].items():
        out.append(
            {
                "id": f"urn:ngsi-ld:MobilityPersonaResult:{base}:{persona}",
                "type": "MobilityPersonaResult",
                "persona": {"type": "Property", "value": persona},
                "scenario": {"type": "Relationship", "object": main["id"]},
                **{k: {"type": "Property", "value": v} for k, v in values.items()},
            }
        )
    return out


def comparison_table(all_kpis: list[dict[str, Any]]) -> str:
    """A Markdown table comparing scenarios, one column each."""
    rows = [
        ("cars owned", lambda k: f"{k['carsOwned']:,}"),
        ("cars running", lambda k: f"{k['carsRunning']:,}"),
        ("cars running / baseline", lambda k: _ratio(k, "carsRunning")),
        ("cars owned / baseline", lambda k: _ratio(k, "carsOwned")),
        ("car share inside ring", lambda k: f"{k['carShareInside']:.1%}"),
        ("car share outside ring", lambda k: f"{k['carShareOutside']:.1%}"),
        ("commute min / person-day", lambda k: f"{k['commuteMinPerPersonDay']:.1f}"),
        ("shuttle requests", lambda k: f"{k['shuttleRequests']:,}"),
        ("shuttle rejection rate", lambda k: f"{k['shuttleRejectionRate']:.1%}"),
        (
            "shuttle wait p50 / p95 [s]",
            lambda k: "{p50:.0f} / {p95:.0f}".format(**k["shuttleWaitS"]),
        ),
        ("shuttle detour mean", lambda k: f"{k['shuttleDetour']['mean']:.2f}"),
        ("vehicle-km (all)", lambda k: f"{sum(k['vehicleKm'].values()):,.0f}"),
        ("CO2 [t]", lambda k: f"{k['co2Kg'] / 1000:.1f}"),
    ]
    head = "| KPI | " + " | ".join(k["scenario"] for k in all_kpis) + " |"
    sep = "|---|" + "---:|" * len(all_kpis)
    body = ["| " + name + " | " + " | ".join(f(k) for k in all_kpis) + " |" for name, f in rows]
    return "\n".join([head, sep, *body])


def _ratio(k: dict[str, Any], key: str) -> str:
    r = (k.get("ratioToBaseline") or {}).get(key)
    return f"{r:.2f}" if r is not None else "-"


def plot(all_kpis: list[dict[str, Any]], results: list[DayResult], out_dir: Path) -> list[Path]:
    """PNG plots: mode shares by ring side, shuttle waits, cars and commute per scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    names = [k["scenario"] for k in all_kpis]
    colours = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    for ax, side in zip(axes, ("Inside", "Outside"), strict=True):
        bottom = np.zeros(len(names))
        for j, m in enumerate(MODES):
            vals = np.array([k[f"modeShare{side}"][m] * 100 for k in all_kpis])
            ax.bar(names, vals, bottom=bottom, label=m, color=colours(j))
            bottom += vals
        ax.set_title(f"Mode shares, residents {side.lower()} the ring")
        ax.tick_params(axis="x", rotation=20)
    axes[0].set_ylabel("share of trips [%]")
    axes[1].legend(loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    paths.append(out_dir / "mode_shares.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    axes[0].bar(names, [k["carsOwned"] for k in all_kpis], label="owned", color=colours(0))
    axes[0].bar(
        names,
        [k["carsRunning"] for k in all_kpis],
        width=0.4,
        label="running (private, shared, taxi)",
        color=colours(1),
    )
    axes[0].set_title("Cars")
    axes[0].legend()
    axes[1].bar(names, [k["commuteMinPerPersonDay"] for k in all_kpis], color=colours(2))
    axes[1].set_title("Commute [min per commuter-day]")
    axes[2].bar(names, [k["co2Kg"] / 1000 for k in all_kpis], color=colours(3))
    axes[2].set_title("CO2 [t per day]")
    for ax in axes:
        ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    paths.append(out_dir / "scenario_comparison.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    waits = [
        (r.scenario.name, [w / 60 for w, _r, _d in r.shuttle.served.values()]) for r in results
    ]
    waits = [(n, w) for n, w in waits if w]
    if waits:
        fig, ax = plt.subplots(figsize=(7, 4))
        for n, w in waits:
            ax.hist(w, bins=np.arange(0, 10.5, 0.5), histtype="step", linewidth=1.6, label=n)
        ax.set_xlabel("shuttle wait [min]")
        ax.set_ylabel("rides")
        ax.set_title("Shuttle waits (limit 10 min)")
        ax.legend()
        fig.tight_layout()
        paths.append(out_dir / "shuttle_waits.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths
