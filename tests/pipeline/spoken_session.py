"""A two-person therapy session spoken by espeak-ng, built in memory, with the truth of who said what.

The script is invented for these tests: no person, place or story in it is real. The
therapist (espeak-ng ``en-us+m3``) opens and asks most of the questions; the client
(``en-us+f4``) answers. A few of the client's turns start before the therapist has finished,
so the two voices overlap for a moment. Nothing is written to disk: espeak-ng writes WAV to
its standard output and the session is mixed with numpy.
"""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import wave
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

RATE = 22_050  # espeak-ng's own rate: the pipeline under test does the resampling
THERAPIST_VOICE = "en-us+m3"
CLIENT_VOICE = "en-us+f4"
VOICES = {"therapist": THERAPIST_VOICE, "client": CLIENT_VOICE, "client2": "en-gb+m1"}
SPEEDS = {"therapist": 160, "client": 172, "client2": 168}
NOISE_DBFS = -58.0  # a quiet room under both voices, so silence is never digital zero
OVERLAP_SECONDS = 0.6

# (speaker, text, starts while the previous turn is still being spoken)
SCRIPT: tuple[tuple[str, str, bool], ...] = (
    ("therapist", "Good morning. Come in and have a seat. How has the past week been for you?", False),
    ("client", "Honestly it was a hard week. I barely slept and work felt like a mountain.", False),
    ("therapist", "I am sorry to hear that. When you say you barely slept, what did a typical night look like?", False),
    ("client", "I would fall asleep around midnight, then wake up at three and just lie there thinking.", False),
    ("therapist", "What kinds of thoughts were going through your mind at three in the morning?", False),
    (
        "client",
        "Mostly the deadline at the office. I kept replaying the meeting where my manager looked annoyed.",
        False,
    ),
    ("therapist", "That sounds exhausting. Did you try the breathing exercise we practiced last time?", False),
    (
        "client",
        "I tried it twice. The first night it helped a little, the second night I gave up after a minute.",
        False,
    ),
    ("therapist", "That is still worth noticing. What was different about the first night?", False),
    ("client", "I think I had not checked my email right before bed. On the second night I had.", False),
    ("therapist", "So the email seemed to wind you up. How would it feel to leave your phone in the kitchen?", False),
    ("client", "Scary, to be honest. I worry that something urgent will come in and I will miss it.", False),
    ("therapist", "What is the worst thing that could realistically happen if you read it in the morning?", False),
    ("client", "Probably nothing terrible. Someone would wait a few hours for an answer.", True),
    ("therapist", "Right. And how likely is it that an email at night truly cannot wait until morning?", False),
    ("client", "Very unlikely. In two years it has happened maybe once.", False),
    (
        "therapist",
        "Let us write that down together. Would you be willing to try the kitchen plan for five nights?",
        False,
    ),
    ("client", "Yes, I can try that. Five nights sounds manageable.", False),
    (
        "therapist",
        "Good. Now, you mentioned the meeting with your manager. Can you walk me through what happened?",
        False,
    ),
    ("client", "I was presenting the quarterly numbers and I lost my place on one slide.", False),
    ("therapist", "And what did you notice in your body at that moment?", False),
    ("client", "My face went hot and my hands started shaking. I was sure everyone could see it.", False),
    ("therapist", "What did you tell yourself about what the others were thinking?", False),
    ("client", "That they thought I was not good enough for the job, that I was a fraud.", False),
    ("therapist", "That is a painful thought. What evidence do you have for it, and what evidence against it?", False),
    ("client", "For it, my manager frowned. Against it, she asked me to lead the next project.", True),
    ("therapist", "Those two facts point in different directions. Which one carries more weight for you?", False),
    ("client", "When I say it out loud, the project matters more. A frown could mean anything.", False),
    ("therapist", "It could. Maybe she was thinking about her own deadline. How does that idea land with you?", False),
    ("client", "It makes me feel a bit lighter. I had not considered that she might be stressed too.", False),
    ("therapist", "Let us talk about the weekend. Did you manage to do anything you enjoy?", False),
    ("client", "I went for a long walk by the river on Saturday and cooked a big pot of soup.", False),
    ("therapist", "That sounds lovely. How was your mood during the walk compared with the workday?", False),
    ("client", "Much calmer. I noticed the birds and I did not think about the office at all.", False),
    ("therapist", "What do you think made the difference on that walk?", False),
    ("client", "Being outside, moving, and not having a screen in front of me.", False),
    ("therapist", "Could you build a short walk into your weekdays, perhaps at lunch time?", False),
    ("client", "Maybe twice a week. Most days I eat at my desk, which probably does not help.", True),
    ("therapist", "Twice a week is a fine start. Which days would work best?", False),
    ("client", "Tuesday and Thursday. Those days have fewer meetings in the afternoon.", False),
    ("therapist", "Great. How have things been at home with your partner this week?", False),
    ("client", "Better than last month. We had a good talk about sharing the chores.", False),
    ("therapist", "What helped that conversation go well?", False),
    ("client", "I used the idea of saying how I feel instead of listing everything he forgot.", False),
    ("therapist", "That takes practice. How did he respond when you spoke that way?", False),
    ("client", "He listened, and then he offered to take over the cooking on weeknights.", False),
    ("therapist", "That is real progress. What would you like to focus on before our next session?", False),
    ("client", "The phone in the kitchen, the walks, and noticing when I call myself a fraud.", False),
    ("therapist", "That is a clear plan. Shall we set a reminder to write down those thoughts each evening?", False),
    ("client", "Yes, a short note before dinner would be easy enough.", True),
    ("therapist", "Wonderful. On a scale of one to ten, how hopeful do you feel about the coming week?", False),
    ("client", "About a six. Last week I would have said three.", False),
    ("therapist", "A six is a good place to start from. Is there anything else on your mind today?", False),
    ("client", "Just that I am glad I came in, even though I almost cancelled this morning.", False),
    ("therapist", "I am glad you came too. What almost made you cancel?", False),
    ("client", "I felt I had nothing to report, and I did not want to waste your time.", False),
    ("therapist", "You brought plenty today. Does it surprise you how much we covered?", False),
    ("client", "It does. I feel like I understand my nights a lot better now.", False),
    ("therapist", "Let us stop there for today. Same time next week?", False),
    ("client", "Same time next week. Thank you, this really helped.", False),
)


@dataclass(frozen=True)
class Turn:
    speaker: str  # "therapist" or "client"
    start: float
    end: float
    text: str


@dataclass
class SpokenSession:
    """Each voice on its own track (float32 at RATE), and when each turn was spoken."""

    tracks: dict[str, np.ndarray]
    turns: list[Turn]

    @property
    def therapist(self) -> np.ndarray:
        return self.tracks["therapist"]

    @property
    def client(self) -> np.ndarray:
        return self.tracks["client"]

    @property
    def duration(self) -> float:
        return len(self.therapist) / RATE

    def mixed(self) -> np.ndarray:
        """Every voice on one channel, as a single room microphone hears them."""
        mixed = np.zeros_like(self.therapist)
        for track in self.tracks.values():
            mixed += track
        return mixed

    def split(self, *, bleed_db: float | None = None) -> list[np.ndarray]:
        """Therapist on channel 0, client on channel 1; `bleed_db` adds the client faintly to channel 0,
        as a microphone picks up the call from a laptop speaker."""
        microphone = self.therapist.copy()
        if bleed_db is not None:
            microphone += self.client * np.float32(10 ** (bleed_db / 20))
        return [microphone, self.client]

    def reference_words(self) -> int:
        return sum(len(turn.text.split()) for turn in self.turns)


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speak(text: str, voice: str, *, words_per_minute: int = 165, pitch: int = 50) -> np.ndarray:
    """What espeak-ng says for `text`, as float32 samples at RATE, without touching the disk."""
    result = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-p", str(pitch), "--stdout", text],
        capture_output=True,
        check=True,
    )
    data = result.stdout
    # espeak-ng cannot seek back on a pipe, so its header leaves the sizes open: find "data".
    at = data.index(b"data") + 8
    pcm = np.frombuffer(data[at : at + (len(data) - at) // 2 * 2], dtype="<i2")
    return (pcm.astype(np.float32) / 32768.0) * np.float32(0.7)


def build_session(
    script: Iterable[tuple[str, str, bool]] = SCRIPT, *, repeats: int = 1, seed: int = 4, vary: bool = False
) -> SpokenSession:
    """Speak the script `repeats` times back to back (with `vary`, each pass a little faster or
    slower and higher or lower), with pauses of 0.5–1.3 s between turns."""
    rng = random.Random(seed)
    lines = list(script)
    jobs: list[tuple[str, str, bool, int, int]] = []
    for round_ in range(repeats):
        shift = rng.randint(-15, 15) if vary and round_ else 0
        for speaker, text, overlaps in lines:
            pitch = 50 + (shift // 3 if vary else 0)
            jobs.append((speaker, text, overlaps, SPEEDS[speaker] + shift, pitch))
    with ThreadPoolExecutor(max_workers=4) as pool:
        clips = list(pool.map(lambda job: speak(job[1], VOICES[job[0]], words_per_minute=job[3], pitch=job[4]), jobs))
    placed: list[tuple[str, int, np.ndarray, str]] = []
    cursor = int(0.8 * RATE)
    for (speaker, text, overlaps, _, _), clip in zip(jobs, clips, strict=True):
        start = cursor - int(OVERLAP_SECONDS * RATE) if overlaps and placed else cursor
        placed.append((speaker, start, clip, text))
        cursor = start + len(clip) + int(rng.uniform(0.5, 1.3) * RATE)
    length = cursor + int(0.8 * RATE)
    tracks = {speaker: np.zeros(length, np.float32) for speaker in dict.fromkeys(job[0] for job in jobs)}
    turns = []
    for speaker, start, clip, text in placed:
        tracks[speaker][start : start + len(clip)] += clip
        turns.append(Turn(speaker, start / RATE, (start + len(clip)) / RATE, text))
    noise = np.random.default_rng(seed)
    level = np.float32(10 ** (NOISE_DBFS / 20))
    for track in tracks.values():
        track += noise.standard_normal(length).astype(np.float32) * level
    return SpokenSession(tracks, turns)


def wav_bytes(channels: list[np.ndarray], rate: int = RATE) -> bytes:
    """A 16-bit PCM WAV file of these channels, in memory."""
    stacked = np.stack([np.clip(c, -1.0, 1.0) for c in channels], axis=1)
    pcm = (stacked * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(len(channels))
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm.tobytes())
    return out.getvalue()


def expected_speakers(turns: list[Turn], start: float, end: float, *, slack: float = 0.15) -> set[str]:
    """Who may have said a word heard from `start` to `end`: whoever was speaking at its middle
    (both voices where two turns overlap), else whoever spoke nearest to it."""
    middle = (start + end) / 2
    speaking = {t.speaker for t in turns if t.start - slack <= middle <= t.end + slack}
    if speaking:
        return speaking
    nearest = min(turns, key=lambda t: min(abs(t.start - middle), abs(t.end - middle)))
    return {nearest.speaker}
