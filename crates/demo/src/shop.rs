//! The demo shop's static content: a small outdoor-clothing catalogue, shoppers' names and
//! places, help-center articles, and conversation scripts with the questions shops really get.
//! Placeholders in scripts: {first_name} {order} {product} {carrier} {tracking} {agent}.

use concierge_domain::intents::Intent;

pub const SHOP_NAME: &str = "Northwind Outfitters";

pub struct Product {
    pub sku: &'static str,
    pub title: &'static str,
    pub price: &'static str,
    pub sizes: &'static [&'static str],
}

const APPAREL: &[&str] = &["S", "M", "L", "XL"];
const SHOES: &[&str] = &["EU 38", "EU 40", "EU 42", "EU 44"];

pub static PRODUCTS: &[Product] = &[
    Product {
        sku: "NW-SWT-001",
        title: "Fjord Merino Crew Sweater",
        price: "89.00",
        sizes: APPAREL,
    },
    Product {
        sku: "NW-SWT-002",
        title: "Ridge Fleece Half-Zip",
        price: "64.90",
        sizes: APPAREL,
    },
    Product {
        sku: "NW-JKT-001",
        title: "Storm Shell Rain Jacket",
        price: "179.00",
        sizes: APPAREL,
    },
    Product {
        sku: "NW-JKT-002",
        title: "Coastline Down Vest",
        price: "119.00",
        sizes: APPAREL,
    },
    Product {
        sku: "NW-TEE-001",
        title: "Trail Organic Cotton Tee",
        price: "29.90",
        sizes: APPAREL,
    },
    Product {
        sku: "NW-TEE-002",
        title: "Summit Long-Sleeve Base Layer",
        price: "44.90",
        sizes: APPAREL,
    },
    Product {
        sku: "NW-PNT-001",
        title: "Granite Hiking Trousers",
        price: "94.00",
        sizes: APPAREL,
    },
    Product {
        sku: "NW-PNT-002",
        title: "Harbour Chino Shorts",
        price: "54.00",
        sizes: APPAREL,
    },
    Product {
        sku: "NW-SHO-001",
        title: "Tundra Waterproof Hiking Boots",
        price: "189.00",
        sizes: SHOES,
    },
    Product {
        sku: "NW-SHO-002",
        title: "Meadow Trail Runners",
        price: "129.00",
        sizes: SHOES,
    },
    Product {
        sku: "NW-SHO-003",
        title: "Harbour Canvas Sneakers",
        price: "69.00",
        sizes: SHOES,
    },
    Product {
        sku: "NW-SHO-004",
        title: "Cabin Wool Slippers",
        price: "49.00",
        sizes: SHOES,
    },
    Product {
        sku: "NW-ACC-001",
        title: "Alpine Wool Beanie",
        price: "24.90",
        sizes: &[],
    },
    Product {
        sku: "NW-ACC-002",
        title: "Everyday 20L Daypack",
        price: "79.00",
        sizes: &[],
    },
    Product {
        sku: "NW-ACC-003",
        title: "Insulated Steel Bottle 750 ml",
        price: "27.50",
        sizes: &[],
    },
    Product {
        sku: "NW-ACC-004",
        title: "Merino Hiking Socks (3-pack)",
        price: "32.00",
        sizes: &["EU 36-39", "EU 40-43", "EU 44-47"],
    },
    Product {
        sku: "NW-ACC-005",
        title: "Leather Field Belt",
        price: "39.00",
        sizes: &["85", "95", "105"],
    },
    Product {
        sku: "NW-ACC-006",
        title: "Packable Sun Hat",
        price: "22.00",
        sizes: &[],
    },
];

pub static FIRST_NAMES: &[&str] = &[
    "Ann", "Lukas", "Sofia", "Mateo", "Aisha", "Jonas", "Emma", "Kenji", "Chloe", "Omar", "Lena",
    "Diego", "Priya", "Tom", "Ingrid", "Kwame", "Marta", "Liam", "Yuki", "Fatima", "Noah", "Elena",
    "Sven", "Amara", "Pierre", "Julia", "Ravi", "Niamh",
];

pub static LAST_NAMES: &[&str] = &[
    "Lee",
    "Schneider",
    "Rossi",
    "Garcia",
    "Khan",
    "Berg",
    "Dubois",
    "Tanaka",
    "Martin",
    "Haddad",
    "Novak",
    "Lopez",
    "Patel",
    "Walsh",
    "Larsen",
    "Mensah",
    "Kowalski",
    "Murphy",
    "Sato",
    "Okafor",
    "de Vries",
    "Moreau",
    "Nilsson",
    "Costa",
];

/// City, country, postcode, phone prefix.
pub static PLACES: &[(&str, &str, &str, &str)] = &[
    ("Berlin", "DE", "10115", "+4930"),
    ("Hamburg", "DE", "20095", "+4940"),
    ("Paris", "FR", "75011", "+331"),
    ("Lyon", "FR", "69002", "+334"),
    ("Amsterdam", "NL", "1012 AB", "+3120"),
    ("Madrid", "ES", "28013", "+3491"),
    ("Milan", "IT", "20121", "+3902"),
    ("London", "GB", "EC1V 9HX", "+4420"),
    ("Dublin", "IE", "D02 X285", "+3531"),
    ("Stockholm", "SE", "111 57", "+468"),
    ("Warsaw", "PL", "00-001", "+4822"),
    ("Boston", "US", "02108", "+1617"),
];

pub static EMAIL_DOMAINS: &[&str] = &["example.com", "example.org", "example.net"];

/// Carrier name and its public tracking page, with `{tracking}` for the number.
pub static CARRIERS: &[(&str, &str)] = &[
    (
        "DHL",
        "https://www.dhl.com/global-en/home/tracking.html?tracking-id={tracking}",
    ),
    ("UPS", "https://www.ups.com/track?tracknum={tracking}"),
    (
        "DPD",
        "https://tracking.dpd.de/status/en_US/parcel/{tracking}",
    ),
    (
        "PostNL",
        "https://jouw.postnl.nl/track-and-trace/{tracking}",
    ),
];

pub struct Article {
    pub title: &'static str,
    pub category: &'static str,
    pub body_markdown: &'static str,
}

/// The help center's categories, in order: (slug, name, description).
pub static CATEGORIES: &[(&str, &str, &str)] = &[
    (
        "shipping",
        "Shipping & delivery",
        "Delivery times and costs, tracking, late parcels.",
    ),
    (
        "orders",
        "Orders",
        "Changing or cancelling an order, addresses.",
    ),
    (
        "returns",
        "Returns & refunds",
        "Returning, exchanging, refunds and damaged items.",
    ),
    (
        "payments",
        "Payments & invoices",
        "Payment methods, failed payments, invoices, codes and gift cards.",
    ),
    (
        "sizing",
        "Sizing & care",
        "Size guides and looking after your gear.",
    ),
    (
        "account",
        "Your account",
        "Signing up, passwords, newsletters and your data.",
    ),
];

/// Words the demo shop says mean the same, for its help-center search.
pub static SYNONYMS: &[&[&str]] = &[
    &["parcel", "package", "shipment"],
    &["return", "send back"],
    &["refund", "money back", "reimburse"],
    &["exchange", "swap"],
    &["cancel", "cancellation"],
    &["discount code", "promo code", "coupon", "voucher code"],
    &["gift card", "gift certificate", "voucher"],
    &["invoice", "receipt"],
    &["unsubscribe", "opt out"],
    &["password", "log in", "login", "sign in"],
    &["size guide", "size chart"],
    &["damaged", "broken", "faulty", "torn"],
    &["track", "follow"],
    &["wash", "care", "clean"],
    &["account", "sign up", "register"],
];

pub static ARTICLES: &[Article] = &[
    Article { title: "Shipping times and costs", category: "shipping", body_markdown: "We ship every order from our warehouse in Hamburg within one working day.\n\n| Destination | Time | Cost | Free from |\n|---|---|---|---|\n| Germany | 1–2 working days | €4.90 | €60 |\n| EU | 2–5 working days | €7.90 | €100 |\n| United Kingdom | 3–6 working days | €12.90 | €150 |\n| United States | 4–8 working days | €19.90 | €200 |\n\nOrders placed before 14:00 CET on a working day leave the same day. You get an email with your tracking link as soon as the parcel is on its way." },
    Article { title: "How do I track my order?", category: "shipping", body_markdown: "As soon as your parcel leaves our warehouse we email you a **tracking link**. You can also find it in your account under *Orders*.\n\nTracking can take up to 24 hours to show the first scan. If your tracking has not moved for more than three working days, write to us and we will chase the carrier for you." },
    Article { title: "My parcel is late or lost", category: "shipping", body_markdown: "Sorry about that! Parcels are sometimes held up at a depot, especially around holidays.\n\n1. Check the tracking link from your shipping email.\n2. Look around your building, with neighbours, or at the pick-up point named in the tracking.\n3. If the parcel shows *delivered* but you don't have it, or it hasn't moved for 5 working days, contact us.\n\nWe open an investigation with the carrier and, if the parcel is lost, send a replacement or refund you in full — you never pay for a lost parcel." },
    Article { title: "My item arrived damaged", category: "returns", body_markdown: "We're sorry your item arrived damaged. Please send us a photo of the item and the box within 14 days of delivery, with your order number.\n\nWe'll send a replacement straight away, or refund you if you prefer. You don't need to send the damaged item back unless we ask." },
    Article { title: "Returns policy", category: "returns", body_markdown: "You can return anything within **30 days** of delivery for a full refund.\n\n- Items must be unworn and unwashed, with the original tags attached.\n- Shoes must be tried on indoors only, and returned in their box.\n- Final-sale items and personalised products can't be returned.\n\nReturns within the EU are free. From the UK and US, return shipping is €9.90, deducted from your refund." },
    Article { title: "How to start a return", category: "returns", body_markdown: "1. Go to *Orders* in your account and choose **Return items**, or write to us with your order number.\n2. Pick the items and a reason.\n3. Print the prepaid label we email you and drop the parcel at any carrier point.\n\nNo printer? Many drop-off points print the label from the QR code in the email." },
    Article { title: "When will I get my refund?", category: "returns", body_markdown: "We refund within **3 working days** after your return reaches our warehouse. You'll get an email when it's done.\n\nYour bank then needs 3–5 working days to show it. Refunds go back to the original payment method; PayPal refunds usually appear within a day." },
    Article { title: "Exchanging for another size", category: "returns", body_markdown: "The quickest way to get another size is an exchange: start a return, choose **Exchange**, and pick the new size. We ship the new size as soon as the carrier scans your return — you don't have to wait for it to reach us.\n\nExchanges are free within the EU." },
    Article { title: "Store credit and gift cards", category: "payments", body_markdown: "Prefer store credit to a refund? Choose *Store credit* when you start a return and we add **10% extra** to your credit. Store credit and gift cards never expire and can be combined with discount codes." },
    Article { title: "Cancelling or changing an order", category: "orders", body_markdown: "You can cancel or change an order until it has been **shipped** — usually within a few hours of ordering. Write to us with your order number as soon as possible.\n\nOnce the parcel is on its way we can't stop it, but you can return it free of charge within 30 days." },
    Article { title: "Changing the shipping address", category: "orders", body_markdown: "If your order hasn't shipped yet we can change the address for you — just send us the new address and your order number.\n\nAfter shipping, some carriers (DHL, DPD) let you redirect the parcel from the tracking page." },
    Article { title: "Payment methods", category: "payments", body_markdown: "We accept:\n\n- Visa, Mastercard and American Express\n- PayPal\n- Klarna (pay in 30 days or in 3 instalments)\n- Apple Pay and Google Pay\n\nYour card is charged when the order is placed. We never store your card number." },
    Article { title: "My payment failed or I was charged twice", category: "payments", body_markdown: "If a payment fails, nothing is charged — any amount you see is a **temporary authorisation** that your bank releases within 7 days.\n\nCharged twice? Usually one of the two is an authorisation that disappears by itself. If both are still there after 7 days, send us a screenshot of your statement and we'll refund the duplicate at once." },
    Article { title: "Invoices and VAT", category: "payments", body_markdown: "Your invoice is attached to the shipping confirmation email and available in your account under *Orders*. Prices include VAT for EU deliveries. Need a company invoice with a VAT number? Send us the company details and we'll reissue it." },
    Article { title: "Using a discount code", category: "payments", body_markdown: "Enter your code in the **Discount code** field at checkout. One code per order; codes can't be applied after an order is placed, but if you forgot one, write to us within 7 days and we'll refund the difference." },
    Article { title: "Apparel size guide", category: "sizing", body_markdown: "Our apparel has a regular fit. Between two sizes? Take the larger one for layering.\n\n| Size | Chest (cm) | Waist (cm) |\n|---|---|---|\n| S | 88–94 | 74–80 |\n| M | 95–101 | 81–87 |\n| L | 102–108 | 88–94 |\n| XL | 109–115 | 95–101 |" },
    Article { title: "Footwear size guide", category: "sizing", body_markdown: "Our boots run true to size; trail runners are half a size small.\n\n| EU | UK | US men | Foot length (cm) |\n|---|---|---|---|\n| 38 | 5 | 6 | 24.0 |\n| 40 | 6.5 | 7.5 | 25.3 |\n| 42 | 8 | 9 | 26.7 |\n| 44 | 9.5 | 10.5 | 28.0 |\n\nMeasure your foot in the evening, heel to longest toe." },
    Article { title: "Caring for merino wool", category: "sizing", body_markdown: "Merino needs little washing: air it out between wears. When needed, wash at 30 °C on a wool cycle with wool detergent, and dry flat. No tumble dryer, no fabric softener." },
    Article { title: "Creating an account", category: "account", body_markdown: "Choose **Sign up** at the top of any page and enter your email and a password. With an account you can track orders, start returns and save addresses. You can also check out as a guest." },
    Article { title: "Resetting your password", category: "account", body_markdown: "Choose **Forgot password?** on the sign-in page and enter your email. The reset link is valid for one hour. No email? Check your spam folder, or write to us from the address you signed up with." },
    Article { title: "Deleting your account and data", category: "account", body_markdown: "Write to us from your account's email address and ask us to delete your account. We erase your personal data within 30 days, except invoices, which the law requires us to keep for 10 years." },
    Article { title: "Newsletter subscription", category: "account", body_markdown: "Subscribe at the bottom of any page for new arrivals and 10% off your first order. Every newsletter has an **unsubscribe** link, which works immediately." },
];

/// German versions of a few articles, so the demo help center shows its language switcher:
/// (the English article's title, German title, German slug, Markdown).
pub static TRANSLATIONS_DE: &[(&str, &str, &str, &str)] = &[
    ("Returns policy", "Rückgaberecht", "rueckgaberecht", "Du kannst alles innerhalb von **30 Tagen** nach der Lieferung zurückgeben und bekommst den vollen Betrag erstattet.\n\n- Artikel müssen ungetragen und ungewaschen sein, mit Originaletiketten.\n- Schuhe bitte nur drinnen anprobieren und im Karton zurückschicken.\n- Reduzierte Endverkaufsartikel und personalisierte Produkte sind vom Umtausch ausgeschlossen.\n\nRücksendungen innerhalb der EU sind kostenlos. Aus Großbritannien und den USA kostet die Rücksendung 9,90 €, die wir von der Erstattung abziehen."),
    ("How do I track my order?", "Wie verfolge ich meine Bestellung?", "bestellung-verfolgen", "Sobald dein Paket unser Lager verlässt, schicken wir dir per E-Mail einen **Tracking-Link**. Du findest ihn auch in deinem Konto unter *Bestellungen*.\n\nBis der erste Scan erscheint, kann es bis zu 24 Stunden dauern. Bewegt sich die Sendungsverfolgung mehr als drei Werktage nicht, schreib uns – wir haken beim Versanddienstleister nach."),
    ("When will I get my refund?", "Wann bekomme ich mein Geld zurück?", "erstattung", "Wir erstatten innerhalb von **3 Werktagen**, nachdem deine Rücksendung in unserem Lager angekommen ist. Du bekommst eine E-Mail, sobald es erledigt ist.\n\nDeine Bank braucht danach 3–5 Werktage. Erstattet wird immer auf die ursprüngliche Zahlungsart."),
];

pub struct Script {
    pub intent: Intent,
    pub subject: &'static str,
    pub opening: &'static str,
    pub follow_up: &'static str,
    pub reply: &'static str,
    pub second_reply: &'static str,
    pub needs_order: bool,
    pub tags: &'static [&'static str],
    pub priority: &'static str,
}

pub static SCRIPTS: &[Script] = &[
    Script { intent: Intent::TrackOrder, subject: "Where is my order {order}?", opening: "Hi, I ordered the {product} last week (order {order}) and still haven't received anything. Can you tell me where it is?\n\nThanks,\n{first_name}", follow_up: "The tracking hasn't changed since Monday. Is it lost??", reply: "Hi {first_name}, thanks for your patience! Your parcel is with {carrier}, tracking number {tracking}. It's in transit and should arrive within two working days.\n\n{agent}", second_reply: "I've opened an investigation with {carrier}. If there's no scan by Friday we'll send a replacement at no cost.\n\n{agent}", needs_order: true, tags: &["wismo"], priority: "normal" },
    Script { intent: Intent::TrackOrder, subject: "Tracking says delivered but nothing here", opening: "Tracking for {order} says delivered yesterday but there is no parcel. I checked with the neighbours. What now?", follow_up: "Still nothing today.", reply: "I'm sorry, {first_name}! Sometimes {carrier} scans a parcel as delivered a day early. I've asked them for the GPS location of the delivery — I'll get back to you within 24 hours.\n\n{agent}", second_reply: "The carrier couldn't confirm the delivery, so I've shipped a replacement today. You'll get the tracking link by email.\n\n{agent}", needs_order: true, tags: &["wismo", "delivery-issue"], priority: "high" },
    Script { intent: Intent::TrackOrder, subject: "order status", opening: "hey where's my stuff? order {order}", follow_up: "ok thx", reply: "Hi {first_name}! It's out for delivery with {carrier} today ({tracking}).\n\n{agent}", second_reply: "You're welcome, enjoy!\n\n{agent}", needs_order: true, tags: &["wismo"], priority: "normal" },
    Script { intent: Intent::GetRefund, subject: "Refund for returned {product}", opening: "Hello, I sent back the {product} from order {order} two weeks ago. When will I get my money back?\n\nBest regards,\n{first_name}", follow_up: "Thank you, I can see it now.", reply: "Hi {first_name}, your return arrived yesterday and I've just issued the refund. Your bank should show it within 3–5 working days.\n\n{agent}", second_reply: "Great, glad it's sorted!\n\n{agent}", needs_order: true, tags: &["refund"], priority: "normal" },
    Script { intent: Intent::Complaint, subject: "Damaged item in order {order}", opening: "The {product} arrived with a torn seam and the box was crushed. Really disappointed, it was meant as a gift.", follow_up: "Here are the photos. I need it before the weekend.", reply: "I'm so sorry, {first_name}. Could you send a photo of the damage? I'll get a replacement out straight away — no need to return the damaged one.\n\n{agent}", second_reply: "Thank you for the photos. A replacement is on its way by express shipping and should arrive Thursday.\n\n{agent}", needs_order: true, tags: &["damaged"], priority: "high" },
    Script { intent: Intent::ChangeOrder, subject: "Wrong size — can I exchange?", opening: "Hi! The {product} is too small. Can I swap it for a bigger size? Order {order}.", follow_up: "Label printed, dropping it off today.", reply: "Of course! I've set up an exchange for the next size up. The prepaid label is in your inbox, and we'll ship the new size as soon as {carrier} scans the return.\n\n{agent}", second_reply: "Perfect — the new size is reserved for you.\n\n{agent}", needs_order: true, tags: &["sizing", "returns"], priority: "normal" },
    Script { intent: Intent::CancelOrder, subject: "Please cancel order {order}", opening: "I ordered twice by mistake, please cancel {order}. Thank you!", follow_up: "Thanks for the quick help.", reply: "Hi {first_name}, done — order {order} is cancelled and the payment authorisation will be released by your bank within a few days.\n\n{agent}", second_reply: "Any time!\n\n{agent}", needs_order: true, tags: &["cancellation"], priority: "high" },
    Script { intent: Intent::PaymentIssue, subject: "Charged twice", opening: "My card was charged twice for order {order}. Please fix this.", follow_up: "It's been 8 days and both charges are still there.", reply: "Hi {first_name}, one of the two is usually a temporary authorisation that your bank releases within 7 days. If both are still there after that, send us a screenshot and we'll refund the duplicate.\n\n{agent}", second_reply: "Thanks for the screenshot — I've refunded the duplicate charge just now.\n\n{agent}", needs_order: true, tags: &["billing"], priority: "high" },
    Script { intent: Intent::ChangeShippingAddress, subject: "Change delivery address", opening: "I just moved — can you send order {order} to my new address instead? Same city, Lindenstraße 12.", follow_up: "Thanks!", reply: "Hi {first_name}, the order hadn't shipped yet, so I've updated the address. You'll get tracking once it leaves the warehouse.\n\n{agent}", second_reply: "You're welcome!\n\n{agent}", needs_order: true, tags: &["address"], priority: "normal" },
    Script { intent: Intent::DeliveryPeriod, subject: "Delivery to Ireland", opening: "How long does delivery to Dublin take? I need a jacket by the 20th.", follow_up: "Ordered, thanks!", reply: "Hi {first_name}, delivery to Ireland takes 2–5 working days, so ordering by Friday gets it to you well before the 20th.\n\n{agent}", second_reply: "Great — it'll be with you soon!\n\n{agent}", needs_order: false, tags: &["pre-sale"], priority: "low" },
    Script { intent: Intent::DeliveryOptions, subject: "Express shipping?", opening: "Do you have express shipping or pick-up points?", follow_up: "ok", reply: "Hi {first_name}, we offer express (next working day in Germany, 1–2 days in the EU) for €12.90, and you can choose a DHL or DPD pick-up point at checkout.\n\n{agent}", second_reply: "Let us know if you need anything else!\n\n{agent}", needs_order: false, tags: &["pre-sale"], priority: "low" },
    Script { intent: Intent::CheckRefundPolicy, subject: "Return policy question", opening: "Can I return shoes if I've worn them outside once? They hurt.", follow_up: "Understood, thanks for being honest.", reply: "Hi {first_name}, we can only accept shoes tried on indoors. But our boots have a 2-year warranty — if there's a fault, we'll gladly look at it.\n\n{agent}", second_reply: "Happy to help!\n\n{agent}", needs_order: false, tags: &["returns"], priority: "normal" },
    Script { intent: Intent::TrackRefund, subject: "Where is my refund?", opening: "You said my refund was issued on Monday but I don't see it. Order {order}.", follow_up: "It arrived, thank you.", reply: "Hi {first_name}, the refund left us on Monday; banks take 3–5 working days. If it isn't there by Friday, we'll send you the bank reference.\n\n{agent}", second_reply: "Glad to hear it!\n\n{agent}", needs_order: true, tags: &["refund"], priority: "normal" },
    Script { intent: Intent::ContactHumanAgent, subject: "I want to talk to a person", opening: "Can I please speak to a real person? The bot isn't helping.", follow_up: "Thanks, that was quick.", reply: "Hi {first_name}, you're talking to {agent} from the support team — how can I help?\n\n{agent}", second_reply: "Any time!\n\n{agent}", needs_order: false, tags: &["handoff"], priority: "normal" },
    Script { intent: Intent::RecoverPassword, subject: "Can't log in", opening: "The password reset email never arrives. I've tried three times.", follow_up: "Found it in spam, sorry!", reply: "Hi {first_name}, I've sent a fresh reset link. Please check your spam folder too — it comes from no-reply@northwind.example.\n\n{agent}", second_reply: "No problem at all!\n\n{agent}", needs_order: false, tags: &["account"], priority: "low" },
    Script { intent: Intent::GetInvoice, subject: "Invoice with VAT number", opening: "I need an invoice for order {order} with our company VAT number DE123456789.", follow_up: "Received, thanks.", reply: "Hi {first_name}, I've reissued the invoice with your company details and attached it to this reply.\n\n{agent}", second_reply: "You're welcome!\n\n{agent}", needs_order: true, tags: &["billing"], priority: "low" },
    Script { intent: Intent::CheckPaymentMethods, subject: "Klarna?", opening: "Can I pay with Klarna in instalments?", follow_up: "Perfect.", reply: "Hi {first_name}, yes — Klarna lets you pay in 30 days or in 3 interest-free instalments. Choose it at checkout.\n\n{agent}", second_reply: "Enjoy your shopping!\n\n{agent}", needs_order: false, tags: &["pre-sale"], priority: "low" },
    Script { intent: Intent::DeleteAccount, subject: "Delete my account", opening: "Please delete my account and all my data.", follow_up: "Thanks.", reply: "Hi {first_name}, I've started the deletion. Your personal data will be erased within 30 days; invoices are kept as the law requires.\n\n{agent}", second_reply: "Take care!\n\n{agent}", needs_order: false, tags: &["privacy"], priority: "normal" },
    Script { intent: Intent::Review, subject: "Love the boots!", opening: "Just wanted to say the {product} is fantastic — walked 20 km in it on day one, no blisters.", follow_up: "Will do!", reply: "That made our day, {first_name}! Would you mind leaving a review on the product page? It helps other hikers a lot.\n\n{agent}", second_reply: "Thank you!\n\n{agent}", needs_order: true, tags: &["feedback"], priority: "low" },
];
