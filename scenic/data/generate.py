"""The generator: requests for a home in one language, with canonical commands, in five categories.

Language-agnostic: it picks what to ask (an action family, a target, a value, a template from the split's pool)
and lets the language pack phrase it. Every prompt is checked against everything generated before it (across all
splits) under the pack's normalisation: a repeated prompt is dropped, and a prompt that would get a second,
different command is counted as a conflict (a generator bug; tests assert there are none). Every command that is
not `Unsupported` is validated against the home once (cached per command string).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from scenic import ScenicError
from scenic.commands import COLORS, Call, render, render_call, validate
from scenic.commands.language import TARGET_SLOTS
from scenic.data.actions import FAMILIES, FAMILY_WEIGHTS, LEVELS, NO_VALUE_FAMILIES, PERCENT_VALUE_SLOTS, RULES, Family
from scenic.data.lang import Core, Frame, LanguagePack, Mention, Unknown
from scenic.data.noise import add_noise
from scenic.data.targets import HomeTargets, Target, applies, temperature_range, unsupported_call
from scenic.data.templates import SPLITS, TemplatePools, split_templates, template_id
from scenic.homes import Home

GENERATOR_VERSION = "1.0.0"
CATEGORIES = ("direct", "indirect", "compound", "invalid", "noisy")
REASONS = ("unknown_device", "unsupported_action", "out_of_range", "not_a_command")
UNSUPPORTED_FAMILIES = ("brightness", "color", "temperature", "position", "volume", "fan_speed", "lock", "unlock")
_MAX_TRIES_PER_EXAMPLE = 40


@dataclass
class Example:
    prompt: str
    command: str
    category: str
    subcategory: str
    template: str
    tags: tuple[str, ...]
    calls: list[Call] = field(repr=False, default_factory=list)

    def to_json(self, lang: str) -> dict:
        return {"prompt": self.prompt, "command": self.command, "category": self.category,
                "subcategory": self.subcategory, "template": self.template, "tags": list(self.tags), "lang": lang}


@dataclass
class GeneratedData:
    splits: dict[str, list[Example]]
    heldout_combos: list[str]
    pools: TemplatePools
    conflicts: list[tuple[str, str, str]]  # (prompt, first command, second command)
    invalid_dropped: list[tuple[str, str]]  # (command, issue): generated but not valid for the home
    shortfall: dict[str, dict[str, int]]  # split -> category -> examples it could not produce


def combo_key(call: Call) -> str:
    """An (intent, target) pair: the call without its value slots, rendered."""
    return render_call(Call(call.intent, {k: v for k, v in call.slots.items() if k in TARGET_SLOTS}))


def _counts(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split `total` by weights with largest remainders, so the parts add up exactly."""
    s = sum(weights.values())
    raw = {k: total * w / s for k, w in weights.items()}
    out = {k: math.floor(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: (out[k] - raw[k], k))[:total - sum(out.values())]:
        out[k] += 1
    return out


class Generator:
    """Holds the home's targets, the template pools and the dedupe state for one dataset."""

    def __init__(self, home: Home, pack: LanguagePack, seed: int, *, template_val_fraction: float = 0.15,
                 template_test_fraction: float = 0.15, heldout_core_fraction: float = 0.1,
                 heldout_combo_fraction: float = 0.05, heldout_boost: float = 0.25, max_compound_actions: int = 3):
        self.home, self.pack, self.seed = home, pack, seed
        self.targets = HomeTargets(home, pack)
        self.pools = split_templates(pack, seed, template_val_fraction, template_test_fraction, heldout_core_fraction)
        self.boost = heldout_boost
        self.max_actions = max_compound_actions
        self.family_targets = {n: self.targets.for_family(f) for n, f in FAMILIES.items() if n in pack.cores}
        self.families = [n for n, ts in self.family_targets.items() if ts]
        if not self.families:
            raise ScenicError("the home has no entity that any request could address (no supported domain)")
        self._cum = self._cumulative([FAMILY_WEIGHTS[n] for n in self.families])
        self.heldout = self._choose_heldout(heldout_combo_fraction)
        self.seen: dict[str, str] = {}
        self.conflicts: list[tuple[str, str, str]] = []
        self.invalid_dropped: list[tuple[str, str]] = []
        self._valid: dict[str, bool] = {}
        self._options: dict[tuple, list[Target]] = {}
        self._rules = self._indirect_rules()
        self._unknowns = self._unknown_things()
        self._unsupported = self._unsupported_candidates()
        self._reason_counts: dict[str, dict[str, int]] = {}
        self._reason_fails: dict[str, dict[str, int]] = {}

    @staticmethod
    def _cumulative(weights: list[float]) -> list[float]:
        out, s = [], 0.0
        for w in weights:
            s += w
            out.append(s)
        return out

    # ---- held-out (intent, target) pairs --------------------------------------------------------------------------
    def _choose_heldout(self, fraction: float) -> set[str]:
        """Keep some (intent, target) pairs out of train; the intent and the target each stay seen in train."""
        pairs: dict[str, tuple[str, str]] = {}
        for n in self.families:
            fam = FAMILIES[n]
            for t in self.family_targets[n]:
                key = combo_key(Call(fam.intent, t.slots(fam)))
                pairs[key] = tuple(key.split(" ", 1))  # (intent, target slots as rendered)
        keys = sorted(pairs)
        rng = random.Random(f"{self.seed}:heldout-combos")
        rng.shuffle(keys)
        want = round(fraction * len(keys))
        chosen: set[str] = set()
        # pairs not chosen, per intent and per target: a pair may go when others keep its intent and its target seen
        # (counted, not rescanned: a 10,000-entity home has tens of thousands of pairs)
        intents = Counter(i for i, _ in pairs.values())
        targets = Counter(t for _, t in pairs.values())
        for k in keys:
            if len(chosen) >= want:
                break
            intent, target = pairs[k]
            if intents[intent] > 1 and targets[target] > 1:
                chosen.add(k)
                intents[intent] -= 1
                targets[target] -= 1
        return chosen

    def _allowed(self, split: str, calls: list[Call]) -> bool:
        return split != "train" or not any(combo_key(c) in self.heldout for c in calls)

    # ---- bookkeeping ----------------------------------------------------------------------------------------------
    def _is_valid(self, command: str, calls: list[Call]) -> bool:
        """Validate each call once (a command is valid iff all its calls are; compounds reuse single calls)."""
        if calls[0].intent == "Unsupported":
            return True
        for call in calls:
            key = render_call(call)
            ok = self._valid.get(key)
            if ok is None:
                issues = validate([call], self.home)
                ok = not issues
                if issues:
                    self.invalid_dropped.append((command, str(issues[0])))
                self._valid[key] = ok
            if not ok:
                return False
        return True

    def accept(self, ex: Example) -> bool:
        """Register a prompt; False if it (normalised) was seen before or its command is invalid."""
        if not self._is_valid(ex.command, ex.calls):
            return False
        key = self.pack.normalize(ex.prompt)
        prev = self.seen.get(key)
        if prev is not None:
            if prev != ex.command:
                self.conflicts.append((ex.prompt, prev, ex.command))
            return False
        self.seen[key] = ex.command
        return True

    # ---- choosing pieces ------------------------------------------------------------------------------------------
    def _family(self, rng: random.Random, among: list[str] | None = None) -> str:
        if among is None:
            return self.families[self._bisect(rng.random() * self._cum[-1])]
        return rng.choice(among)

    def _bisect(self, x: float) -> int:
        lo, hi = 0, len(self._cum) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self._cum[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        return lo

    @staticmethod
    def _accepts(core: Core, family: Family, t: Target) -> bool:
        if t.kind not in (core.kinds or family.kinds):
            return False
        if core.domains is None:
            return True
        if t.kind == "area":
            return any(e.domain in core.domains for e in t.members_for(family))
        return t.domain in core.domains

    def options(self, split: str, fam_name: str, core: Core, heldout_only: bool = False) -> list[Target]:
        """Targets this core can name for this family in this split (train never sees held-out pairs)."""
        key = (split, fam_name, core.id, heldout_only)
        out = self._options.get(key)
        if out is None:
            fam = FAMILIES[fam_name]
            out = []
            for t in self.family_targets[fam_name]:
                if not self._accepts(core, fam, t):
                    continue
                held = combo_key(Call(fam.intent, t.slots(fam))) in self.heldout
                if (split == "train" and held) or (heldout_only and not held):
                    continue
                out.append(t)
            self._options[key] = out
        return out

    def _value(self, rng: random.Random, fam: Family, core: Core, t: Target | None) -> tuple[object, str | None, str | None]:
        """(value, phrase, tag) for a valid request; phrase None when the wording implies the value."""
        if fam.value is None:
            return None, None, None
        if core.fixed is not None:
            return LEVELS[core.fixed], None, "relative_value"
        if fam.value == "color":
            c = rng.choice(COLORS)
            return c, rng.choice(self.pack.color_phrases(c)), "color_value"
        if fam.value == "temperature":
            lo, hi = temperature_range(t, fam) if t is not None else (18.0, 24.0)
            if rng.random() < 0.15:
                v2 = rng.randint(math.ceil(lo * 2), math.floor(hi * 2))
                v: float | int = v2 // 2 if v2 % 2 == 0 else v2 / 2
            else:
                v = rng.randint(math.ceil(lo), math.floor(hi))
            return v, rng.choice(self.pack.number_phrases("temperature", v)), "absolute_value"
        words = self.pack.word_values(fam.value)
        if words and rng.random() < 0.2:
            v = rng.choice(sorted(words))
            return v, rng.choice(words[v]), "word_value"
        r = rng.random()
        v = rng.randrange(10, 101, 10) if r < 0.5 else rng.randrange(5, 101, 5) if r < 0.75 else rng.randint(1, 100)
        return v, rng.choice(self.pack.number_phrases(fam.value, v)), "absolute_value"

    def _clause(self, rng: random.Random, fam_name: str, core: Core, t: Target, m: Mention | None = None):
        """(text, call, tags) of one action on one target."""
        fam = FAMILIES[fam_name]
        value, phrase, vtag = self._value(rng, fam, core, t)
        slots = t.slots(fam)
        if fam.value is not None:
            slots[fam.value] = value
        text = self.pack.fill(core.text, m or rng.choice(t.mentions), phrase)
        tags = [f"by_{'name' if t.kind == 'entity' else t.kind}"] + ([vtag] if vtag else [])
        return text, Call(fam.intent, slots), tags

    def _wrap(self, rng: random.Random, frame: Frame, text: str, question: bool = False, decorate: bool = True) -> str:
        text = frame.text.replace("{c}", text)
        return self.pack.decorate(text, rng, frame.question or question) if decorate else text

    # ---- categories -----------------------------------------------------------------------------------------------
    def direct(self, rng: random.Random, split: str, decorate: bool = True) -> Example | None:
        fam_name = self._family(rng)
        core, frame = rng.choice(self.pools.pairs[split][f"action.{fam_name}"])
        opts = None
        if split != "train" and rng.random() < self.boost:
            opts = self.options(split, fam_name, core, heldout_only=True) or None
        opts = opts or self.options(split, fam_name, core)
        if not opts:
            return None
        t = rng.choice(opts)
        text, call, tags = self._clause(rng, fam_name, core, t)
        prompt = self._wrap(rng, frame, text, decorate=decorate)
        return Example(prompt, render(call), "direct", frame.style, template_id(core, frame),
                       tuple([fam_name, *tags, frame.style]), [call])

    def noisy(self, rng: random.Random, split: str) -> Example | None:
        base = self.direct(rng, split, decorate=False)
        if base is None:
            return None
        noisy = add_noise(base.prompt, rng, self.pack)
        if noisy is None:
            return None
        text, kind = noisy
        return Example(text, base.command, "noisy", kind, base.template, (*base.tags, kind, "no_punct"), base.calls)

    def _indirect_rules(self) -> list[tuple[str, list[tuple[Target, Call]]]]:
        """(template family, [(target, call)]) for every indirect rule and keyword the home supports."""
        out = []
        for rule in sorted(self.pack.indirect):
            if rule not in RULES:
                continue
            pairs = [(t, c) for t in self.targets.targets if (c := self.targets.rule_call(rule, t)) is not None]
            if pairs:
                out.append((f"indirect.{rule}", pairs))
        for kw in sorted(self.pack.implicit):
            t = self.targets.keyword_entity(kw)
            if t is not None:
                out.append((f"implicit.{kw}", [(t, Call("HassTurnOn", t.slots(FAMILIES["on"])))]))
        return out

    def indirect(self, rng: random.Random, split: str) -> Example | None:
        if not self._rules:
            return None
        fam, pairs = rng.choice(self._rules)
        core, frame = rng.choice(self.pools.pairs[split][fam])
        t, call = rng.choice(pairs)
        if not self._allowed(split, [call]):
            return None
        text = self.pack.fill(core.text, rng.choice(t.mentions) if "{t}" in core.text else None, None)
        prompt = self._wrap(rng, frame, text)
        kind = "implicit" if fam.startswith("implicit.") else fam.split(".", 1)[1]
        by = "by_name" if t.kind == "entity" else "by_area"
        return Example(prompt, render(call), "indirect", kind, template_id(core, frame),
                       (fam, by if "{t}" in core.text else "no_target", frame.style), [call])

    def compound(self, rng: random.Random, split: str) -> Example | None:
        n = 2 if self.max_actions == 2 or rng.random() < 0.65 else 3
        conn, frame = rng.choice(self.pools.pairs[split]["compound"])
        if conn.shared:
            return self._shared_compound(rng, split, n, conn, frame)
        texts, calls, used, fams = [], [], set(), []
        for i in range(n):
            fam_name = self._family(rng)
            core = self._clause_core(rng, split, fam_name, frame if i == 0 else None)
            if core is None:
                return None
            opts = [t for t in self.options(split, fam_name, core) if not used & {e.id for e in t.members}]
            if not opts:
                return None
            t = rng.choice(opts)
            used |= {e.id for e in t.members}
            text, call, _ = self._clause(rng, fam_name, core, t)
            texts.append(text)
            calls.append(call)
            fams.append(fam_name)
        joined = conn.first + texts[0] + "".join(conn.mid + x for x in texts[1:-1]) + conn.last + texts[-1]
        prompt = self._wrap(rng, frame, joined)
        return Example(prompt, render(calls), "compound", f"{n}_actions", template_id(conn, frame),
                       tuple([*fams, frame.style]), calls)

    def _clause_core(self, rng: random.Random, split: str, fam_name: str, frame: Frame | None) -> Core | None:
        """A core of the split for a compound clause; the first one must read well right after the frame.

        Cores that open with the target ("{t} off") read badly inside a list of clauses and are left out."""
        cores = [c for c in self.pools.cores[split][f"action.{fam_name}"] if not c.text.startswith("{t}")]
        if frame is not None and frame.verb:
            cores = [c for c in cores if c.verbal]
        return rng.choice(cores) if cores else None

    def _shared_compound(self, rng, split, n, conn, frame) -> Example | None:
        fam_name = self._family(rng, [f for f in self.families if f in NO_VALUE_FAMILIES])
        core = self._clause_core(rng, split, fam_name, frame)
        if core is None:
            return None
        opts = list(self.options(split, fam_name, core))
        rng.shuffle(opts)
        chosen: list[Target] = []
        used: set[str] = set()
        for t in opts:
            ids = {e.id for e in t.members}
            if not used & ids:
                chosen.append(t)
                used |= ids
            if len(chosen) == n:
                break
        if len(chosen) < n:
            return None
        fam = FAMILIES[fam_name]
        mention = self.pack.join_mentions([rng.choice(t.mentions) for t in chosen])
        calls = [Call(fam.intent, t.slots(fam)) for t in chosen]
        prompt = self._wrap(rng, frame, self.pack.fill(core.text, mention, None))
        return Example(prompt, render(calls), "compound", f"{n}_actions", template_id(conn, frame),
                       (fam_name, "shared_verb", frame.style), calls)

    # ---- invalid requests -----------------------------------------------------------------------------------------
    def _unknown_things(self) -> list[Unknown]:
        """Devices and areas the home does not have (word-set containment either way with a real name excludes)."""
        known = [set(p.split()) for p in self.targets.all_phrases()]
        articles = set(self.pack.droppable)

        def clear(text: str) -> bool:
            words = set(self.pack.normalize(text).split()) - articles
            return not any(words <= k or k <= words for k in known if k)

        out = [u for u in self.pack.unknown_devices if clear(u.text)]
        for area in self.pack.unknown_areas:
            if clear(area):
                out += self.pack.unknown_group_mentions(area)
        return [u for u in out if any(f in self.pack.cores for f in u.families)]

    def _unsupported_candidates(self) -> dict[str, list[tuple[Target, frozenset]]]:
        """Per family: targets it cannot act on, with the (wording, value kind)s that DO mean something for them."""
        def vkind(fam: Family, core: Core) -> str:
            if fam.value is None or core.fixed is not None:
                return "none"
            return "color" if fam.value == "color" else "number"

        out: dict[str, list[tuple[Target, frozenset]]] = {}
        meaningful_for: dict[str, frozenset] = {}  # per target: the same for every family that cannot act on it
        for fam_name in UNSUPPORTED_FAMILIES:
            if fam_name not in self.pack.cores:
                continue
            fam = FAMILIES[fam_name]
            cands = []
            for t in self.targets.targets:
                if t.kind not in ("entity", "group") or t.kind not in fam.kinds or applies(t, fam):
                    continue
                meaningful = meaningful_for.get(t.key)
                if meaningful is None:
                    meaningful = meaningful_for[t.key] = frozenset(
                        (self.pack.normalize(c.text), vkind(FAMILIES[f], c))
                        for f in self.families if applies(t, FAMILIES[f]) for c in self.pack.cores[f])
                cands.append((t, meaningful))
            if cands:
                out[fam_name] = cands
        return out

    def invalid(self, rng: random.Random, split: str) -> Example | None:
        """The reason with the fewest accepted examples so far goes next (rejections would otherwise skew the mix);
        a reason that keeps failing (the home offers nothing for it) is set aside."""
        counts = self._reason_counts.setdefault(split, dict.fromkeys(REASONS, 0))
        fails = self._reason_fails.setdefault(split, dict.fromkeys(REASONS, 0))
        live = [r for r in REASONS if fails[r] < 200] or list(REASONS)
        reason = min(live, key=lambda r: (counts[r], REASONS.index(r)))
        ex = getattr(self, f"_{reason}")(rng, split)
        if ex is None or not self.accept(ex):
            fails[reason] += 1
            return None
        fails[reason] = 0
        counts[reason] += 1
        return ex

    def _unsupported_example(self, rng, frame: Frame, text: str, reason: str, template: str, tags, question=False):
        call = unsupported_call(reason)
        return Example(self._wrap(rng, frame, text, question), render(call), "invalid", reason, template,
                       (*tags, frame.style), [call])

    def _not_a_command(self, rng: random.Random, split: str) -> Example | None:
        fams = [f for f in ("chat.imperative", "chat.statement", "chat.question") if self.pools.pairs[split].get(f)]
        if not fams:
            return None
        weights = [len(self.pools.pairs[split][f]) for f in fams]
        fam = rng.choices(fams, weights)[0]
        core, frame = rng.choice(self.pools.pairs[split][fam])
        text = core.text
        for name, values in self.pack.chat_fillers.items():
            text = text.replace("{" + name + "}", rng.choice(values))
        while "{n}" in text or "{m}" in text:
            slot = "{n}" if "{n}" in text else "{m}"
            text = text.replace(slot, str(rng.randint(2, 99)), 1)
        return self._unsupported_example(rng, frame, text, "not_a_command", template_id(core, frame), (fam,),
                                         question=core.mood == "question")

    def _unknown_device(self, rng: random.Random, split: str) -> Example | None:
        if not self._unknowns:
            return None
        u = rng.choice(self._unknowns)
        fam_name = rng.choice([f for f in u.families if f in self.pack.cores])
        fam = FAMILIES[fam_name]
        core, frame = rng.choice(self.pools.pairs[split][f"action.{fam_name}"])
        if u.kind not in (core.kinds or fam.kinds) or core.domains is not None:
            return None
        text = u.text
        if u.kind == "entity" and rng.random() < 0.3:
            area = rng.choice(self.home.areas)
            text = self.pack.in_area(text, rng.choice([area.name, *area.aliases]).lower())
        _, phrase, _ = self._value(rng, fam, core, None)
        prompt_text = self.pack.fill(core.text, Mention(text, u.plural), phrase)
        return self._unsupported_example(rng, frame, prompt_text, "unknown_device", template_id(core, frame),
                                         (fam_name,))

    def _unsupported_action(self, rng: random.Random, split: str) -> Example | None:
        if not self._unsupported:
            return None
        fam_name = rng.choice(sorted(self._unsupported))
        fam = FAMILIES[fam_name]
        core, frame = rng.choice(self.pools.pairs[split][f"action.{fam_name}"])
        if core.domains is not None:
            return None
        kind = "none" if fam.value is None or core.fixed else ("color" if fam.value == "color" else "number")
        key = (self.pack.normalize(core.text), kind)
        opts = [t for t, meaningful in self._unsupported[fam_name]
                if t.kind in (core.kinds or fam.kinds) and key not in meaningful]
        if not opts:
            return None
        t = rng.choice(opts)
        _, phrase, _ = self._value(rng, fam, core, None)
        text = self.pack.fill(core.text, rng.choice(t.mentions), phrase)
        by = "by_name" if t.kind == "entity" else "by_area"
        return self._unsupported_example(rng, frame, text, "unsupported_action", template_id(core, frame),
                                         (fam_name, by))

    def _out_of_range(self, rng: random.Random, split: str) -> Example | None:
        fams = [f for f in self.families if FAMILIES[f].value in (*PERCENT_VALUE_SLOTS, "temperature")]
        if not fams:
            return None
        fam_name = rng.choice(fams)
        fam = FAMILIES[fam_name]
        core, frame = rng.choice(self.pools.pairs[split][f"action.{fam_name}"])
        if core.fixed is not None or "{v}" not in core.text:
            return None
        opts = self.options(split, fam_name, core)
        if not opts:
            return None
        t = rng.choice(opts)
        if fam.value == "temperature":
            lo, hi = temperature_range(t, fam)
            v = int(hi) + rng.randint(2, 15) if rng.random() < 0.6 else max(0, int(lo) - rng.randint(2, 12))
        else:
            v = rng.randrange(110, 301, 10) if rng.random() < 0.7 else rng.randint(101, 250)
        text = self.pack.fill(core.text, rng.choice(t.mentions), rng.choice(self.pack.number_phrases(fam.value, v)))
        by = "by_name" if t.kind == "entity" else "by_area"
        return self._unsupported_example(rng, frame, text, "out_of_range", template_id(core, frame), (fam_name, by))

    # ---- the whole dataset ----------------------------------------------------------------------------------------
    def make(self, rng: random.Random, split: str, category: str) -> Example | None:
        ex = getattr(self, category)(rng, split)  # held-out pairs are excluded from train as targets are chosen
        if ex is None or (category != "invalid" and not self.accept(ex)):  # invalid() accepts its own
            return None
        return ex

    def run(self, split_sizes: dict[str, int], weights: dict[str, float],
            progress: Callable[[int], None] | None = None) -> GeneratedData:
        splits: dict[str, list[Example]] = {}
        shortfall: dict[str, dict[str, int]] = {}
        active = {c: w for c, w in weights.items() if w > 0}
        for split in SPLITS:
            out: list[Example] = []
            for category, want in _counts(split_sizes[split], active).items():
                rng = random.Random(f"{self.seed}:{split}:{category}")
                made, tries = 0, 0
                while made < want and tries < want * _MAX_TRIES_PER_EXAMPLE + 200:
                    tries += 1
                    ex = self.make(rng, split, category)
                    if ex is not None:
                        out.append(ex)
                        made += 1
                        if progress:
                            progress(1)
                if made < want:
                    shortfall.setdefault(split, {})[category] = want - made
            random.Random(f"{self.seed}:{split}:shuffle").shuffle(out)
            splits[split] = out
        return GeneratedData(splits, sorted(self.heldout), self.pools, self.conflicts, self.invalid_dropped, shortfall)


def split_sizes(total: int, fractions: dict[str, float]) -> dict[str, int]:
    return _counts(total, fractions)


def generate_dataset(config, out, progress: Callable[[int], None] | None = None, force: bool = False) -> dict:
    """Generate a dataset folder (train/val/test.jsonl, triplets.jsonl, home.yaml, manifest.json) atomically.

    Returns the manifest. `config` is a `scenic.data.config.GenerateConfig`. `out` may hold an earlier dataset (it is
    replaced); any other SCENIC artifact only with `force`; other files never (docs/CONTRACTS.md).
    """
    from pathlib import Path

    from scenic.artifacts import atomic_dir, check_output
    from scenic.data.io import write_dataset
    from scenic.data.lang import get_language_pack
    from scenic.data.splits import overlap_report
    from scenic.data.stats import rows_stats
    from scenic.data.triplets import structured_triplets
    from scenic.homes import DEFAULT_HOME_PATH, home_hash, load_home

    out_policy = dict(inputs=(config.home,), force=force)
    check_output(out, "data", **out_policy)  # before any work
    home = load_home(config.home)
    home_text = Path(config.home or DEFAULT_HOME_PATH).read_text(encoding="utf-8")
    pack = get_language_pack(config.lang)
    gen = Generator(home, pack, config.seed, template_val_fraction=config.template_val_fraction,
                    template_test_fraction=config.template_test_fraction,
                    heldout_core_fraction=config.heldout_core_fraction,
                    heldout_combo_fraction=config.heldout_combo_fraction, heldout_boost=config.heldout_boost,
                    max_compound_actions=config.max_compound_actions)
    data = gen.run(split_sizes(config.num_examples, config.splits.model_dump()), config.categories.model_dump(),
                   progress)
    rows = {s: [e.to_json(pack.code) for e in data.splits[s]] for s in SPLITS}
    triplets = structured_triplets(data.splits["train"], config.seed) if config.triplets else []
    overlap = overlap_report(rows, pack.normalize)
    heldout = set(data.heldout_combos)
    overlap["heldout_combos_in_train"] = sum(1 for e in data.splits["train"] for c in e.calls if combo_key(c) in heldout)
    overlap["heldout_combos_in_val_test"] = len({combo_key(c) for s in ("val", "test") for e in data.splits[s]
                                                 for c in e.calls} & heldout)
    hh = home_hash(home)
    extra = {
        "kind": "generated", "generator_version": GENERATOR_VERSION, "seed": config.seed, "lang": pack.code,
        "home_hash": hh, "opaque_commands": False,
        "counts": {s: {c: sum(1 for e in data.splits[s] if e.category == c) for c in CATEGORIES} for s in SPLITS},
        "num_examples": {s: len(data.splits[s]) for s in SPLITS},
        "triplets": len(triplets),
        "overlap": overlap,
        "heldout_combos": data.heldout_combos,
        "heldout_cores": data.pools.heldout_cores,
        "templates": {s: len({e.template for e in data.splits[s]}) for s in SPLITS},
        "conflicts": len(data.conflicts), "conflict_examples": [list(c) for c in data.conflicts[:5]],
        "invalid_dropped": len(data.invalid_dropped),
        "invalid_examples": [list(c) for c in data.invalid_dropped[:5]],
        "shortfall": data.shortfall,
        "stats": rows_stats(rows, config.stats.tokenizer, config.stats.percentiles),
    }
    with atomic_dir(out, "data", **out_policy) as tmp:
        manifest = write_dataset(tmp, rows, triplets, config, {"home": hh}, extra, home_text)
    return manifest
