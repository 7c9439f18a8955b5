"""The English language pack. Every template here was written for SCENIC (none copied from another project).

Cores are the wordings of one action with `{t}` (target), `{v}` (value) and `{is}` (agrees with the target).
Kinds shorthand in the tables: "A" area only, "E" entity only, "G" group, "EG" entity or group.
"""

from __future__ import annotations

import random
import re
from typing import Mapping

from scenic.data.lang import Connector, Core, Frame, LanguagePack, Mention, Unknown

_KIND_CODES = {"A": "area", "E": "entity", "G": "group", "F": "floor"}


_NOT_VERBAL = frozenset({"{t}", "i", "i'd", "let's", "next", "previous", "last", "back", "volume", "the", "coffee",
                         "my", "time", "movie"})
# Frames after which a bare verb phrase must follow ("could you" + "turn on the tv", not "could you the tv on").
_VERB_FRAMES = ("please {c}", "could you", "can you", "would you", "kindly", "i'd appreciate", "if you could",
                "please could", "just {c}", "go ahead", "i want you", "i need you", "can ya", "do me a favor",
                "let's {c}", "be a dear", "how about you", "why don't you", "um, could", "uh, i think you should",
                "hmm, maybe")


def _verbal(text: str) -> bool:
    return text.split(" ", 1)[0] not in _NOT_VERBAL


def _cores(family: str, specs: list) -> tuple[Core, ...]:
    """Build cores from `text` or `(text, options)`; ids are `family.NN` in table order."""
    out = []
    for i, spec in enumerate(specs):
        text, opt = (spec, {}) if isinstance(spec, str) else spec
        kinds = opt.get("k")
        out.append(Core(
            id=f"{family}.{i:02d}", text=text,
            kinds=tuple(_KIND_CODES[c] for c in kinds) if kinds else None,
            domains=tuple(opt["d"].split()) if "d" in opt else None,
            fixed=opt.get("fixed"), mood=opt.get("mood", "imperative"), verbal=_verbal(text),
        ))
    return tuple(out)


def _fx(text: str, level: str, **more) -> tuple[str, dict]:
    return text, {"fixed": level, **more}


COVER = {"d": "cover"}

CORES: dict[str, list] = {
    "on": [
        "turn on {t}", "turn {t} on", "switch on {t}", "switch {t} on", "power on {t}", "power {t} on", "put {t} on",
        "get {t} on", "activate {t}", "enable {t}", ("start {t}", {"d": "switch fan"}),
        ("start up {t}", {"d": "switch fan media_player"}), ("fire up {t}", {"d": "switch fan media_player climate"}),
        "flip on {t}", "flip {t} on", "{t} on", "i want {t} on", "i'd like {t} on", "let's have {t} on",
        "make sure {t} {is} on", "turn {t} back on", ("light up {t}", {"d": "light"}), "have {t} on", "leave {t} on",
        ("throw on {t}", {"d": "light switch"}), "power up {t}",
    ],
    "off": [
        "turn off {t}", "turn {t} off", "switch off {t}", "switch {t} off", "power off {t}", "power {t} off",
        "power down {t}", "shut off {t}", "shut {t} off", ("shut down {t}", {"d": "switch media_player climate fan"}),
        "kill {t}", ("cut {t}", {"d": "light switch"}), "deactivate {t}", "disable {t}",
        ("stop {t}", {"d": "fan switch valve"}), "{t} off", "i want {t} off", "i'd like {t} off", "get {t} off",
        "flip off {t}", "flip {t} off", "make sure {t} {is} off", ("put out {t}", {"d": "light"}),
        ("cut the power to {t}", {"d": "switch media_player"}), "let's have {t} off", "have {t} off", "leave {t} off",
        "turn {t} back off",
    ],
    "open": [
        "open {t}", "open up {t}", ("raise {t}", COVER), ("pull up {t}", COVER), ("roll up {t}", COVER),
        ("lift {t}", COVER), "i want {t} open", "get {t} open", "make sure {t} {is} open", ("pull {t} open", COVER),
        ("slide {t} open", COVER), ("throw open {t}", COVER), ("draw back {t}", COVER), ("put {t} up", COVER),
        ("bring up {t}", COVER), "have {t} open", "leave {t} open", "open {t} all the way", "open {t} up",
        "{t} open",
    ],
    "close": [
        "close {t}", "shut {t}", "close up {t}", ("lower {t}", COVER), ("pull down {t}", COVER),
        ("roll down {t}", COVER), ("draw {t}", COVER), "{t} closed", "i want {t} closed", "get {t} closed",
        "make sure {t} {is} closed", ("pull {t} shut", COVER), ("slide {t} shut", COVER), ("bring down {t}", COVER),
        ("put {t} down", COVER), "have {t} closed", "leave {t} closed", "close {t} all the way", "shut {t} tight",
    ],
    "lock": [
        "lock {t}", "lock up {t}", "lock {t} up", "secure {t}", "bolt {t}", "{t} locked", "i want {t} locked",
        "get {t} locked", "make sure {t} {is} locked", "engage the lock on {t}", "put the lock on {t}",
        "keep {t} locked", "have {t} locked", "lock {t} for the night", "latch {t}", "deadbolt {t}",
        "lock {t} tight",
    ],
    "unlock": [
        "unlock {t}", "unbolt {t}", "unlatch {t}", "{t} unlocked", "i want {t} unlocked", "get {t} unlocked",
        "make sure {t} {is} unlocked", "release the lock on {t}", "disengage the lock on {t}",
        "take the lock off {t}", "open the lock on {t}", "leave {t} unlocked", "have {t} unlocked",
        "keep {t} unlocked", "undo the lock on {t}",
    ],
    "brightness": [
        "set {t} to {v}", "set {t} at {v}", "dim {t} to {v}", "brighten {t} to {v}", "put {t} at {v}",
        "put {t} on {v}", "turn {t} to {v}", "change {t} to {v}", "adjust {t} to {v}", "make {t} {v}",
        "{t} to {v}", "{t} at {v}", "set the brightness of {t} to {v}", "set {t} brightness to {v}",
        "change the brightness of {t} to {v}", "bring {t} to {v}", "bring {t} down to {v}", "bring {t} up to {v}",
        "turn {t} up to {v}", "turn {t} down to {v}", "i want {t} at {v}", "lower {t} to {v}", "raise {t} to {v}",
        "adjust the brightness of {t} to {v}", "{t} brightness {v}", "have {t} at {v}", "dim {t} down to {v}",
        "keep {t} at {v}",
        _fx("dim {t}", "dim"), _fx("make {t} dimmer", "dim"), _fx("turn {t} down", "dim"),
        _fx("turn down {t}", "dim"), _fx("brighten {t}", "bright"), _fx("make {t} brighter", "bright"),
        _fx("turn {t} up", "bright"), _fx("turn up {t}", "bright"), _fx("turn {t} all the way up", "full"),
        _fx("max out {t}", "full"),
    ],
    "color": [
        "make {t} {v}", "turn {t} {v}", "set {t} to {v}", "change {t} to {v}", "color {t} {v}",
        "set the color of {t} to {v}", "change the color of {t} to {v}", "switch {t} to {v}", "{t} to {v}",
        "{t} in {v}", "i want {t} {v}", "make {t} glow {v}", "put {t} on {v}", "set {t} color to {v}",
        "turn {t} to {v}", "change {t} color to {v}", "paint {t} {v}", "let's have {t} in {v}",
        "have {t} glow {v}", "make the color of {t} {v}",
    ],
    "temperature": [
        "set {t} to {v}", ("set the temperature of {t} to {v}", {"k": "E"}), ("set the temperature in {t} to {v}", {"k": "A"}),
        ("make it {v} in {t}", {"k": "A"}), ("heat {t} to {v}", {"k": "A"}), ("warm {t} up to {v}", {"k": "A"}),
        ("cool {t} down to {v}", {"k": "A"}), "change {t} to {v}", "adjust {t} to {v}", "put {t} on {v}",
        "turn {t} to {v}", "turn {t} up to {v}", "turn {t} down to {v}", "{t} to {v}", "i want {t} at {v}",
        ("i want it {v} in {t}", {"k": "A"}), "keep {t} at {v}", "bring {t} to {v}",
        ("set {t} temperature to {v}", {"k": "A"}), ("the temperature in {t} should be {v}", {"k": "A"}),
        ("{t} should be at {v}", {"k": "EG"}), ("set the heat in {t} to {v}", {"k": "A"}), "get {t} to {v}",
        ("change the temperature in {t} to {v}", {"k": "A"}), "raise {t} to {v}", "lower {t} to {v}",
        ("heat {t} up to {v}", {"k": "A"}), ("make {t} {v}", {"k": "A"}),
    ],
    "position": [
        "set {t} to {v}", "open {t} to {v}", "close {t} to {v}", "move {t} to {v}", "put {t} at {v}",
        "adjust {t} to {v}", ("raise {t} to {v}", COVER), ("lower {t} to {v}", COVER), "bring {t} to {v}",
        "{t} to {v}", "set {t} position to {v}", "change {t} position to {v}", "set the position of {t} to {v}",
        "i want {t} at {v}", "have {t} at {v}", "open {t} {v}", "set {t} to {v} open", ("roll {t} to {v}", COVER),
        ("pull {t} to {v}", COVER), "change {t} to {v}",
        _fx("open {t} halfway", "half"), _fx("close {t} halfway", "half"), _fx("open {t} a little", "little"),
        _fx("open {t} a crack", "little"), _fx("crack open {t}", "little"), _fx("put {t} halfway", "half"),
    ],
    "volume": [
        "set the volume on {t} to {v}", "set the volume of {t} to {v}", "set {t} volume to {v}", "set {t} to {v}",
        "change the volume on {t} to {v}", "turn {t} to {v}", "put {t} at {v}", "volume on {t} to {v}",
        "{t} volume {v}", "{t} volume to {v}", "adjust {t} volume to {v}", "adjust the volume on {t} to {v}",
        "turn {t} up to {v}", "turn {t} down to {v}", "turn the volume on {t} up to {v}",
        "turn the volume on {t} down to {v}", "bring {t} volume to {v}", "i want {t} at {v}",
        "raise the volume on {t} to {v}", "lower the volume on {t} to {v}", "put the volume on {t} at {v}",
        "make {t} volume {v}",
        _fx("turn {t} down", "quiet"), _fx("turn down {t}", "quiet"), _fx("make {t} quieter", "quiet"),
        _fx("lower the volume on {t}", "quiet"), _fx("turn the volume on {t} down", "quiet"),
        _fx("turn {t} up", "loud"), _fx("turn up {t}", "loud"), _fx("make {t} louder", "loud"),
        _fx("raise the volume on {t}", "loud"), _fx("turn the volume on {t} up", "loud"), _fx("mute {t}", "mute"),
        _fx("silence {t}", "mute"), _fx("turn {t} all the way up", "full"), _fx("max out the volume on {t}", "full"),
    ],
    "pause": [
        "pause {t}", "put {t} on pause", "pause playback on {t}", "stop {t}", "pause what's playing on {t}",
        "pause the music on {t}", "pause the show on {t}", "hit pause on {t}", "{t} pause", "pause {t} for a sec",
        "stop the music on {t}", "stop playback on {t}", "pause the movie on {t}", "press pause on {t}",
        "hold playback on {t}",
    ],
    "resume": [
        "resume {t}", "unpause {t}", "resume playback on {t}", "keep playing on {t}", "press play on {t}",
        "hit play on {t}", "{t} play", "continue playing on {t}", "carry on playing on {t}",
        "unpause what's playing on {t}", "resume the music on {t}", "resume the show on {t}", "continue {t}",
        "resume the movie on {t}", "unpause the music on {t}",
    ],
    "next": [
        "next track on {t}", "skip this song on {t}", "skip to the next song on {t}", "next song on {t}",
        "play the next track on {t}", "go to the next track on {t}", "skip ahead on {t}", "skip forward on {t}",
        "skip the track on {t}", "{t} next track", "{t} next song", "next on {t}", "skip to the next track on {t}",
        "move to the next song on {t}", "play the next song on {t}", "skip this track on {t}",
    ],
    "previous": [
        "previous track on {t}", "go back a track on {t}", "play the previous song on {t}", "back one song on {t}",
        "last track on {t}", "go to the previous track on {t}", "previous song on {t}", "{t} previous track",
        "skip back on {t}", "go back on {t}", "go back one track on {t}", "play the previous track on {t}",
        "back to the previous song on {t}", "{t} previous song", "move to the previous song on {t}",
    ],
    "vacuum_start": [
        ("start {t}", {"k": "E"}), ("run {t}", {"k": "E"}), ("start cleaning with {t}", {"k": "E"}),
        ("send {t} to clean", {"k": "E"}), ("let {t} clean", {"k": "E"}), ("get {t} cleaning", {"k": "E"}),
        ("have {t} clean", {"k": "E"}), ("turn on {t}", {"k": "E"}), ("kick off {t}", {"k": "E"}),
        ("set {t} going", {"k": "E"}), ("start {t} up", {"k": "E"}), ("launch {t}", {"k": "E"}),
        ("vacuum {t}", {"k": "A"}), ("clean {t}", {"k": "A"}), ("hoover {t}", {"k": "A"}),
        ("run the vacuum in {t}", {"k": "A"}), ("start vacuuming {t}", {"k": "A"}),
        ("vacuum the floor in {t}", {"k": "A"}), ("clean the floors in {t}", {"k": "A"}),
        ("get {t} vacuumed", {"k": "A"}), ("hoover the floor in {t}", {"k": "A"}), ("give {t} a vacuum", {"k": "A"}),
        ("start cleaning {t}", {"k": "A"}),
    ],
    "vacuum_return": [
        "send {t} home", "send {t} back to its base", "dock {t}", "return {t} to base", "send {t} back to the dock",
        "tell {t} to go home", "park {t}", "recall {t}", "bring {t} back to its dock", "have {t} return to base",
        "send {t} to its charger", "{t} go home", "{t} back to base", "stop {t} and send it home",
        "get {t} back on its dock", "return {t} to its dock",
    ],
    "fan_speed": [
        "set {t} to {v}", "set {t} speed to {v}", "set the speed of {t} to {v}", "change {t} speed to {v}",
        "turn {t} to {v}", "put {t} on {v}", "run {t} at {v}", "{t} to {v}", "{t} at {v}", "adjust {t} to {v}",
        "make {t} spin at {v}", "i want {t} at {v}", "speed {t} up to {v}", "slow {t} down to {v}",
        "bring {t} to {v}", "change the speed of {t} to {v}", "have {t} on {v}", "keep {t} at {v}",
        "turn {t} up to {v}", "turn {t} down to {v}",
        _fx("speed up {t}", "high"), _fx("make {t} faster", "high"), _fx("turn {t} up", "high"),
        _fx("turn up {t}", "high"), _fx("slow down {t}", "low"), _fx("make {t} slower", "low"),
        _fx("turn {t} down", "low"), _fx("turn down {t}", "low"), _fx("put {t} on full blast", "full"),
    ],
}

_S = {"mood": "statement"}
INDIRECT: dict[str, list] = {
    "dark": [
        "it's too dark in {t}", "it is too dark in {t}", "it's so dark in {t}", "{t} is too dark",
        "{t} is pitch black", "i can't see anything in {t}", "i can barely see in {t}", "it's really dim in {t}",
        "{t} is way too dim", "i need some light in {t}", "i need more light in {t}",
        "there's not enough light in {t}", "{t} could use some light", "it's gloomy in {t}",
        "i'm sitting in the dark in {t}", "i can't see a thing in {t}", "it's dark as night in {t}",
        "we need light in {t}", "it's way too dark in {t}",
    ],
    "bright": [
        "it's too bright in {t}", "{t} is too bright", "it's blinding in {t}", "{t} is way too bright",
        "it's so bright in {t}", "the light in {t} hurts my eyes", "it's too harsh in {t}",
        "i'd like it less bright in {t}", "{t} is a bit too bright", "my eyes hurt in {t}, it's so bright",
        "it is too bright in {t}", "it's way too bright in {t}", "{t} is far too bright",
        "the lighting in {t} is too strong", "it's really bright in {t}",
    ],
    "cold": [
        "it's freezing in {t}", "it's too cold in {t}", "{t} is too cold", "{t} is freezing", "i'm cold in {t}",
        "it's chilly in {t}", "{t} feels like a fridge", "it's really cold in {t}", "i'm shivering in {t}",
        "{t} is so chilly", "it's way too cold in {t}", "{t} needs warming up", "my feet are cold in {t}",
        "it is too cold in {t}", "{t} is icy", "it's so cold in {t}",
    ],
    "hot": [
        "it's too hot in {t}", "{t} is too hot", "it's boiling in {t}", "{t} is way too warm", "i'm sweating in {t}",
        "it's so hot in {t}", "it's roasting in {t}", "{t} is like an oven", "it's sweltering in {t}",
        "it's warm in {t}", "i'm overheating in {t}", "{t} is really hot", "it's too warm in {t}",
        "it is too hot in {t}", "{t} is boiling",
    ],
    "stuffy": [
        "it's stuffy in {t}", "{t} is stuffy", "there's no air in {t}", "{t} needs some air",
        "the air in {t} is stale", "it's muggy in {t}", "{t} smells", "it's steamy in {t}", "{t} needs airing out",
        "i can't breathe in {t}", "{t} is so stuffy", "it's humid in {t}",
    ],
    "glare": [
        "the sun is in my eyes in {t}", "there's too much sun in {t}", "{t} is getting too much sun",
        "the sun is blinding me in {t}", "it's too sunny in {t}", "i need some privacy in {t}",
        "people can see into {t}", "the neighbours can see into {t}", "the sunlight in {t} is too strong",
        "the sun is shining right into {t}", "i want some privacy in {t}", "there's sun glare in {t}",
    ],
    "daylight": [
        "let some daylight into {t}", "let the sun into {t}", "i want some natural light in {t}",
        "i want to see outside from {t}", "i want to see the view from {t}", "{t} needs some daylight",
        "let's get some sunshine in {t}", "i want daylight in {t}", "let the morning light into {t}",
        "let some fresh daylight into {t}", "it would be nice to have daylight in {t}",
    ],
    "loud": [
        "{t} is too loud", "{t} is way too loud", "{t} is blasting", "{t} is deafening", "{t} is so noisy",
        "i can't hear myself think with {t}", "{t} is hurting my ears", "the volume on {t} is too high",
        "{t} is really loud", "{t} is much too loud", "{t} is far too loud",
    ],
    "cant_hear": [
        "i can't hear {t}", "{t} is too quiet", "i can barely hear {t}", "{t} is so quiet", "{t} is hard to hear",
        "the volume on {t} is too low", "{t} is too soft", "i can hardly hear {t}", "{t} is way too quiet",
        "i can't make out what {t} is saying",
    ],
    "dirty": [
        "{t} is dirty", "{t} is so dusty", "the floor in {t} is a mess", "{t} needs cleaning",
        "there's dust everywhere in {t}", "there are crumbs all over {t}", "{t} could use a clean",
        "the dog made a mess in {t}", "{t} is covered in crumbs", "the floor in {t} is filthy",
        "{t} is really dirty", "{t} needs a good clean",
    ],
}

IMPLICIT: dict[str, list] = {
    "coffee": ["i need coffee", "i could really use a coffee", "i'm dying for a coffee", "coffee time",
               "i need some caffeine", "i want a coffee"],
    "kettle": ["i'd love a cup of tea", "time for tea", "i want some tea", "i need hot water",
               "let's have a cuppa", "i could go for a tea"],
    "blanket": ["my bed is freezing", "the bed is so cold", "i want a warm bed", "my bed needs warming up",
                "the sheets are freezing"],
    "towel": ["my towels are cold", "i want a warm towel", "the towels are freezing", "i'd like a toasty towel"],
    "sprinkler": ["the lawn looks dry", "the grass needs water", "the plants are thirsty", "the garden is so dry",
                  "the flower beds need watering"],
    "charger": ["the car needs charging", "my car battery is low", "the car is almost out of charge",
                "i need to charge the car"],
    "printer": ["i need to print something", "i have some pages to print", "i want to print a document",
                "i need a printout"],
    "christmas": ["let's get festive", "make it feel like christmas", "time for some holiday cheer",
                  "let's get into the holiday spirit"],
    "fountain": ["i want to hear the fountain", "the garden needs some running water",
                 "i'd love the sound of the fountain", "let's have the water feature going"],
    "washing": ["i need to do the laundry", "time to wash some clothes", "the laundry basket is full",
                "my clothes need washing"],
    "dryer": ["my clothes are still wet", "time to dry the laundry", "the washing needs drying",
              "i need to dry my clothes"],
    "tv": ["i want to watch something", "let's watch a movie", "movie night", "i want to catch the news",
           "time for some telly"],
}

CHAT = [
    ("what's the meaning of life", "question"), ("what time is it", "question"),
    ("what's the weather like {when}", "question"), ("will it rain {when}", "question"), ("how are you", "question"),
    ("who are you", "question"), ("what's your name", "question"), ("what is {n} plus {m}", "question"),
    ("what is {n} times {m}", "question"), ("what's {n} minus {m}", "question"),
    ("how many days until christmas", "question"), ("who won the game last night", "question"),
    ("what's the capital of {country}", "question"), ("how far away is the moon", "question"),
    ("do you like music", "question"), ("are you a robot", "question"), ("what's the news {when}", "question"),
    ("how do i boil an egg", "question"), ("how tall is mount everest", "question"),
    ("can dogs eat chocolate", "question"), ("why is the sky blue", "question"),
    ("what should i have for dinner", "question"), ("where are my keys", "question"),
    ("how do you spell {word}", "question"), ("what day is it {when}", "question"),
    ("is it going to be sunny {when}", "question"), ("what's the population of {country}", "question"),
    ("how long do i cook pasta", "question"), ("what's on my calendar {when}", "question"),
    ("do you dream", "question"), ("what's your favorite movie", "question"),
    ("how old is the universe", "question"), ("what language do they speak in {country}", "question"),
    ("what does {word} mean", "question"), ("is {n} a prime number", "question"),
    ("i love you", "chatter"), ("thanks", "chatter"), ("thank you so much", "chatter"),
    ("never mind", "chatter"), ("good morning", "chatter"), ("i'm bored", "chatter"),
    ("that's funny", "chatter"), ("you're the best", "chatter"), ("i had a long day", "chatter"),
    ("my cat is asleep", "chatter"), ("the weather is nice {when}", "chatter"), ("i'm hungry", "chatter"),
    ("forget it", "chatter"), ("just testing", "chatter"), ("hello", "chatter"), ("hi there", "chatter"),
    ("goodbye", "chatter"), ("see you later", "chatter"), ("i'm going to {country} {when}", "chatter"),
    ("my favorite number is {n}", "chatter"), ("i think {topic} are fascinating", "chatter"),
    ("tell me a joke", "imperative"), ("tell me a joke about {topic}", "imperative"),
    ("sing me a song", "imperative"), ("tell me a story", "imperative"), ("tell me about {topic}", "imperative"),
    ("read me the news", "imperative"), ("spell {word}", "imperative"), ("count to {n}", "imperative"),
    ("tell me something interesting", "imperative"), ("give me a fun fact about {topic}", "imperative"),
    ("recommend a movie", "imperative"), ("translate hello into {language}", "imperative"),
    ("flip a coin", "imperative"), ("roll a dice", "imperative"), ("define {word}", "imperative"),
    ("tell me the forecast for {when}", "imperative"), ("say something funny", "imperative"),
]

CHAT_FILLERS = {
    "when": ("today", "tomorrow", "tonight", "this weekend", "on monday", "next week", "this afternoon"),
    "country": ("france", "japan", "brazil", "canada", "kenya", "norway", "peru", "egypt", "india", "spain"),
    "topic": ("cats", "penguins", "computers", "pirates", "whales", "dinosaurs", "volcanoes", "robots"),
    "word": ("necessary", "rhythm", "beautiful", "separate", "definitely", "onomatopoeia", "serendipity"),
    "language": ("french", "spanish", "german", "italian", "japanese"),
}

_IMP = ("imperative",)
_SQ = ("statement", "question", "chatter")
_ST = ("statement",)

FRAMES = [
    # plain
    ("{c}", "plain", _IMP, False), ("{c} now", "plain", _IMP, False), ("{c} right now", "plain", _IMP, False),
    ("now {c}", "plain", _IMP, False), ("{c} immediately", "plain", _IMP, False),
    # polite
    ("please {c}", "polite", _IMP, False), ("{c} please", "polite", _IMP, False),
    ("{c}, please", "polite", _IMP, False), ("could you {c}", "polite", _IMP, True),
    ("could you please {c}", "polite", _IMP, True), ("can you {c}", "polite", _IMP, True),
    ("can you please {c}", "polite", _IMP, True), ("would you {c}", "polite", _IMP, True),
    ("would you please {c}", "polite", _IMP, True), ("kindly {c}", "polite", _IMP, False),
    ("{c}, thanks", "polite", _IMP, False), ("{c}, thank you", "polite", _IMP, False),
    ("i'd appreciate it if you could {c}", "polite", _IMP, False),
    ("would you be so kind as to {c}", "polite", _IMP, True),
    ("if you could {c}, that would be great", "polite", _IMP, False),
    ("please could you {c}", "polite", _IMP, True), ("could you {c} for me", "polite", _IMP, True),
    ("{c} if you don't mind", "polite", _IMP, False), ("{c} when you get a chance", "polite", _IMP, False),
    # colloquial
    ("hey, {c}", "colloquial", _IMP, False), ("yo, {c}", "colloquial", _IMP, False),
    ("just {c}", "colloquial", _IMP, False), ("go ahead and {c}", "colloquial", _IMP, False),
    ("{c} real quick", "colloquial", _IMP, False), ("{c} for me", "colloquial", _IMP, False),
    ("i want you to {c}", "colloquial", _IMP, False), ("i need you to {c}", "colloquial", _IMP, False),
    ("can ya {c}", "colloquial", _IMP, True), ("quick, {c}", "colloquial", _IMP, False),
    ("do me a favor and {c}", "colloquial", _IMP, False), ("ok, {c}", "colloquial", _IMP, False),
    ("hey there, {c}", "colloquial", _IMP, False), ("let's {c}", "colloquial", _IMP, False),
    ("you know what, {c}", "colloquial", _IMP, False), ("{c}, would ya", "colloquial", _IMP, True),
    ("be a dear and {c}", "colloquial", _IMP, False), ("{c} already", "colloquial", _IMP, False),
    ("how about you {c}", "colloquial", _IMP, True), ("why don't you {c}", "colloquial", _IMP, True),
    ("hey assistant, {c}", "colloquial", _IMP, False),
    # filler
    ("um, {c}", "filler", _IMP, False), ("uh, {c}", "filler", _IMP, False), ("so, {c}", "filler", _IMP, False),
    ("okay so {c}", "filler", _IMP, False), ("like, {c}", "filler", _IMP, False),
    ("hmm, {c}", "filler", _IMP, False), ("er, {c}", "filler", _IMP, False), ("{c}, i guess", "filler", _IMP, False),
    ("well, {c}", "filler", _IMP, False), ("um, could you {c}", "filler", _IMP, True),
    ("uh, i think you should {c}", "filler", _IMP, False), ("so um, {c}", "filler", _IMP, False),
    ("{c}, uh, please", "filler", _IMP, False), ("right, {c}", "filler", _IMP, False),
    ("alright, {c}", "filler", _IMP, False), ("okay um {c}", "filler", _IMP, False),
    ("hmm, maybe {c}", "filler", _IMP, False), ("so yeah, {c}", "filler", _IMP, False),
    ("actually, {c}", "filler", _IMP, False), ("oh, {c}", "filler", _IMP, False),
    # statements and questions (indirect requests, chit-chat)
    ("{c}", "plain", _SQ, False), ("ugh, {c}", "filler", _SQ, False), ("hmm, {c}", "filler", _SQ, False),
    ("hey, {c}", "colloquial", _SQ, False), ("um, {c}", "filler", _SQ, False), ("so, {c}", "filler", _SQ, False),
    ("okay, {c}", "filler", _SQ, False), ("well, {c}", "filler", _SQ, False), ("oh, {c}", "filler", _SQ, False),
    ("man, {c}", "colloquial", _SQ, False), ("wow, {c}", "colloquial", _SQ, False),
    ("honestly, {c}", "colloquial", _SQ, False), ("listen, {c}", "colloquial", _SQ, False),
    ("alright, {c}", "filler", _SQ, False), ("uh, {c}", "filler", _SQ, False), ("jeez, {c}", "colloquial", _SQ, False),
    ("you know, {c}", "filler", _SQ, False), ("hey there, {c}", "colloquial", _SQ, False),
    ("excuse me, {c}", "polite", _SQ, False), ("seriously, {c}", "colloquial", _SQ, False),
    ("ok so {c}", "filler", _SQ, False), ("oh no, {c}", "colloquial", _ST, False), ("i think {c}", "plain", _ST, False),
    ("i feel like {c}", "colloquial", _ST, False), ("{c}, do something", "colloquial", _ST, False),
    ("{c}, can you help", "polite", _ST, False), ("{c}, please help", "polite", _ST, False),
    ("{c} again", "plain", _ST, False), ("sorry, but {c}", "polite", _ST, False),
    ("{c}, any chance you could help", "polite", _ST, False),
]

CONNECTORS = [
    Connector("and", "", ", ", " and "), Connector("comma_and", "", ", ", ", and "),
    Connector("and_then", "", ", ", " and then "), Connector("then", "", ", then ", ", then "),
    Connector("then_plain", "", " then ", " then "), Connector("and_also", "", ", ", " and also "),
    Connector("also", "", ", ", ", also "), Connector("plus", "", ", ", " plus "),
    Connector("first_then", "first ", ", then ", ", and then "), Connector("semicolon", "", "; ", "; "),
    Connector("after_that", "", ", ", ", after that "), Connector("while_at_it", "", ", ", ", and while you're at it "),
    Connector("and_and", "", " and ", " and "), Connector("as_well", "", ", ", " as well as "),
    Connector("shared_and", "", ", ", " and ", shared=True), Connector("shared_comma_and", "", ", ", ", and ", shared=True),
]

UNKNOWN_DEVICES = [
    ("the jacuzzi", "on off"), ("the hot tub", "on off"), ("the sauna", "on off temperature"),
    ("the dishwasher", "on off"), ("the oven", "on off temperature"), ("the microwave", "on off"),
    ("the pool pump", "on off"), ("the aquarium light", "on off brightness color"),
    ("the porch light", "on off brightness color"), ("the fireplace", "on off"),
    ("the air conditioner", "on off temperature fan_speed"), ("the air purifier", "on off fan_speed"),
    ("the humidifier", "on off"), ("the dehumidifier", "on off"), ("the toaster", "on off"),
    ("the radio", "on off volume pause resume next previous"),
    ("the stereo", "on off volume pause resume next previous"),
    ("the soundbar", "on off volume pause resume next previous"), ("the projector", "on off"),
    ("the game console", "on off"), ("the skylight", "open close position"),
    ("the shed door", "lock unlock open close"), ("the mailbox", "lock unlock"), ("the safe", "lock unlock"),
    ("the roller shutters", "open close position"), ("the garden hose", "on off"),
    ("the lawn mower", "vacuum_start vacuum_return"), ("the pool cleaner", "vacuum_start vacuum_return"),
    ("the doorbell", "on off"), ("the security camera", "on off"), ("the alarm system", "on off"),
    ("the hair dryer", "on off"), ("the string lights", "on off brightness color"),
    ("the window fan", "on off fan_speed"), ("the patio heater", "on off temperature"),
    ("the bay window", "open close"), ("the wine fridge", "on off temperature"),
    ("the electric fireplace", "on off"), ("the lava lamp", "on off color"), ("the neon sign", "on off color"),
]

UNKNOWN_AREAS = (
    "attic", "sunroom", "guest room", "porch", "patio", "pantry", "cellar", "balcony", "shed", "conservatory",
    "loft", "playroom", "home gym", "library", "den", "utility room", "mudroom", "spare room", "games room",
)

HOMOPHONES = {
    "to": ("too",), "for": ("four",), "lights": ("lites",), "light": ("lite",), "right": ("write",),
    "off": ("of",), "you": ("u", "ya"), "are": ("r",), "please": ("pls", "plz"), "thermostat": ("thermo stat",),
    "percent": ("per cent",), "degrees": ("degree",), "ceiling": ("sealing",), "close": ("clothes",),
    "kitchen": ("kitchin",), "bedroom": ("bed room",), "living": ("livin",), "would": ("wood",),
    "it's": ("its",), "what's": ("whats",), "blinds": ("blines",), "speaker": ("speeker",), "heating": ("heeting",),
    "heater": ("heeter",), "curtains": ("curtins",), "lock": ("lok",), "door": ("dore",), "night": ("knight",),
    "some": ("sum",), "then": ("than",), "and": ("an", "n"), "tv": ("t v", "tee vee"), "lamp": ("lamb",),
    "study": ("studdy",), "garage": ("garridge",), "volume": ("volum",), "brightness": ("brightnes",),
    "switch": ("swich",), "dim": ("dimm",),
    "i'd": ("id",), "let's": ("lets",), "don't": ("dont",), "bathroom": ("bath room",),
}

NUMBER_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
               "sixteen seventeen eighteen nineteen").split()
NUMBER_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")

WORD_VALUES = {
    "brightness": {25: ("a quarter", "quarter brightness"), 50: ("half", "half brightness"), 75: ("three quarters",),
                   100: ("full", "full brightness", "max", "maximum brightness")},
    "position": {25: ("a quarter",), 50: ("half", "halfway"), 75: ("three quarters",)},
    "volume_level": {50: ("half", "half volume"), 100: ("max", "maximum", "full volume")},
    "percentage": {33: ("low", "low speed"), 66: ("medium", "medium speed"),
                   100: ("high", "high speed", "full speed", "max"), 50: ("half speed",)},
}

_PUNCT = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")
_PLACEHOLDER = re.compile(r"\{[a-z]+\}")
_WORD = re.compile(r"[a-z']+")


def number_words(n: int, hyphen: bool = False) -> str:
    """0..999 in words ("twenty-one" or "twenty one")."""
    if n < 20:
        return NUMBER_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return NUMBER_TENS[tens] + ((("-" if hyphen else " ") + NUMBER_ONES[ones]) if ones else "")
    hundreds, rest = divmod(n, 100)
    return NUMBER_ONES[hundreds] + " hundred" + ((" and " + number_words(rest, hyphen)) if rest else "")


def _plural(name: str) -> bool:
    last = name.split()[-1] if name.split() else name
    return last.endswith("s") and not last.endswith(("ss", "us"))


class EnglishPack(LanguagePack):
    code = "en"
    name = "English"

    def __init__(self) -> None:
        self.cores = {fam: _cores(fam, specs) for fam, specs in CORES.items()}
        self.indirect = {rule: _cores(f"indirect.{rule}", [(s, _S) for s in specs]) for rule, specs in INDIRECT.items()}
        self.implicit = {kw: _cores(f"implicit.{kw}", [(s, _S) for s in specs]) for kw, specs in IMPLICIT.items()}
        self.chat = tuple(Core(f"chat.{i:02d}", text, mood=mood, verbal=_verbal(text)) for i, (text, mood) in enumerate(CHAT))
        self.chat_fillers = CHAT_FILLERS
        self.frames = tuple(Frame(f"frame.{i:02d}", text, style, moods, q, text.startswith(_VERB_FRAMES))
                            for i, (text, style, moods, q) in enumerate(FRAMES))
        self.connectors = tuple(CONNECTORS)
        self.unknown_devices = tuple(Unknown(text, "entity", tuple(f.split()), _plural(text)) for text, f in UNKNOWN_DEVICES)
        self.unknown_areas = UNKNOWN_AREAS
        self.homophones = HOMOPHONES
        self.droppable = ("the", "a", "my")
        colors = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "white")
        value_words = {"half", "halfway", "quarter", "quarters", "full", "max", "maximum", "low", "medium", "high"}
        self.protected = frozenset(NUMBER_ONES) | frozenset(t for t in NUMBER_TENS if t) | {"hundred"} | value_words \
            | set(colors)

    # ---- naming things ----------------------------------------------------------------------------------------
    def entity_mentions(self, names: list[str], areas: list[str], unique: bool) -> list[Mention]:
        out: list[Mention] = []
        for n in names:
            p = _plural(n)
            has_area = any(f" {a} " in f" {n} " for a in areas)
            if unique:
                out += [Mention(f"the {n}", p), Mention(f"my {n}", p)]
            for a in areas:
                if not has_area:
                    out.append(Mention(f"the {a} {n}", p))
                out.append(Mention(f"the {n} in the {a}", p))
        return out

    def group_mentions(self, domain: str, device_class: str | None, areas: list[str]) -> list[Mention]:
        out: list[Mention] = []
        for a in areas:
            if domain == "light":
                out += [Mention(x, True) for x in (f"the {a} lights", f"the lights in the {a}",
                                                   f"all the lights in the {a}", f"all the {a} lights",
                                                   f"all of the lights in the {a}")]
                out.append(Mention(f"every light in the {a}", False))
            elif domain == "fan":
                out += [Mention(x, True) for x in (f"the {a} fans", f"the fans in the {a}", f"all the fans in the {a}")]
            elif domain == "climate":
                out += [Mention(x, False) for x in (f"the heating in the {a}", f"the {a} heating",
                                                    f"the heat in the {a}", f"the climate control in the {a}")]
            elif domain == "cover" and device_class:
                noun = {"curtain": "curtains", "blind": "blinds", "shade": "shades", "shutter": "shutters"}.get(device_class)
                if noun:
                    out += [Mention(x, True) for x in (f"the {a} {noun}", f"the {noun} in the {a}",
                                                       f"all the {noun} in the {a}", f"all the {a} {noun}")]
        return out

    def floor_mentions(self, domain: str, floor: str) -> list[Mention]:
        if domain != "light":
            return []
        prep = "on" if "floor" in floor.split() else "in"
        return [Mention(f"all the lights {prep} the {floor}", True), Mention(f"the lights {prep} the {floor}", True),
                Mention(f"the {floor} lights", True), Mention(f"every light {prep} the {floor}", False)]

    def area_mentions(self, areas: list[str]) -> list[Mention]:
        return [Mention(f"the {a}") for a in areas]

    def unknown_group_mentions(self, area: str) -> list[Unknown]:
        return [
            Unknown(f"the lights in the {area}", "group", ("on", "off", "brightness", "color"), True),
            Unknown(f"the {area} lights", "group", ("on", "off", "brightness", "color"), True),
            Unknown(f"the heating in the {area}", "group", ("on", "off", "temperature")),
            Unknown(f"the blinds in the {area}", "group", ("open", "close", "position"), True),
            Unknown(f"the {area}", "area", ("temperature", "vacuum_start")),
        ]

    def in_area(self, text: str, area: str) -> str:
        return f"{text} in the {area}"

    def join_mentions(self, mentions: list[Mention]) -> Mention:
        texts = [m.text for m in mentions]
        return Mention(", ".join(texts[:-1]) + " and " + texts[-1], True)

    # ---- values -----------------------------------------------------------------------------------------------
    def number_phrases(self, slot: str, value: float) -> list[str]:
        if slot == "temperature":
            if float(value).is_integer():
                n = int(value)
                return [f"{n} degrees", f"{number_words(n)} degrees", f"{number_words(n, True)} degrees", f"{n}°",
                        f"{n} degrees celsius", f"{n}"]
            n = int(value)
            return [f"{value:g} degrees", f"{number_words(n)} and a half degrees", f"{n} and a half degrees",
                    f"{value:g}°", f"{value:g}"]
        n = int(value)
        return [f"{n}%", f"{n} percent", f"{number_words(n)} percent", f"{number_words(n, True)} percent", f"{n}",
                f"{n}%"]

    def word_values(self, slot: str) -> Mapping[int, tuple[str, ...]]:
        return WORD_VALUES.get(slot, {})

    def color_phrases(self, color: str) -> list[str]:
        return [color]

    # ---- text -------------------------------------------------------------------------------------------------
    def fill(self, text: str, mention: Mention | None, value: str | None) -> str:
        if mention is not None:
            text = text.replace("{t}", mention.text).replace("{is}", "are" if mention.plural else "is")
        if value is not None:
            text = text.replace("{v}", value)
        return text

    def decorate(self, text: str, rng: random.Random, question: bool) -> str:
        r = rng.random()
        if r < 0.22:
            text = text[:1].upper() + text[1:]
        r = rng.random()
        if question and r < 0.5:
            text += "?"
        elif not question and r < 0.12:
            text += "."
        elif not question and r < 0.16:
            text += "!"
        return text

    def normalize(self, text: str) -> str:
        return _SPACES.sub(" ", _PUNCT.sub("", text.casefold())).strip()

    def words(self, text: str) -> list[str]:
        return _WORD.findall(_PLACEHOLDER.sub(" ", text.casefold()))
