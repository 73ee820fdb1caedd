// The time slider: a range input over the whole period of the data, step buttons (day, week,
// month), arrow keys and play/pause. It only reports dates; the page decides what to redraw.
import { addDays, addMonths, clampDate, daysBetween } from "./dates.js";
import { formatDate, t } from "./i18n.js";

export function createTimeSlider({ first, last, date, step = "day", onChange, onStepChange, playDelay = 600 }) {
  const slider = document.getElementById("slider");
  const label = document.getElementById("date-label");
  const play = document.getElementById("play");
  const back = document.getElementById("step-back");
  const forward = document.getElementById("step-forward");
  const stepButtons = [...document.querySelectorAll(".step-buttons .step")];

  let current = clampDate(date, first, last);
  let unit = step;
  let timer = null;

  slider.min = "0";
  slider.max = String(daysBetween(first, last));
  slider.setAttribute("aria-valuetext", current);

  function render() {
    slider.value = String(daysBetween(first, current));
    slider.setAttribute("aria-valuetext", formatDate(current, "long"));
    label.value = current;
    label.textContent = current;
    label.title = formatDate(current, "long");
    back.disabled = current <= first;
    forward.disabled = current >= last;
    for (const button of stepButtons) {
      button.setAttribute("aria-checked", String(button.dataset.step === unit));
    }
  }

  function set(next, source = "api") {
    next = clampDate(next, first, last);
    if (next === current) return false;
    current = next;
    render();
    onChange(current, source);
    return true;
  }

  function shift(direction) {
    if (unit === "month") return addMonths(current, direction);
    return addDays(current, direction * (unit === "week" ? 7 : 1));
  }

  function stop() {
    if (timer === null) return;
    clearInterval(timer);
    timer = null;
    play.setAttribute("aria-pressed", "false");
    play.setAttribute("aria-label", t("slider.play"));
    play.innerHTML = "&#9654;";
  }

  function start() {
    if (current >= last) set(first, "play");
    timer = setInterval(() => {
      if (!set(shift(1), "play") || current >= last) stop();
    }, playDelay);
    play.setAttribute("aria-pressed", "true");
    play.setAttribute("aria-label", t("slider.pause"));
    play.innerHTML = "&#10074;&#10074;";
  }

  slider.addEventListener("input", () => {
    stop();
    set(addDays(first, Number(slider.value)), "slider");
  });
  slider.addEventListener("keydown", (event) => {
    const rtl = getComputedStyle(slider).direction === "rtl";
    const keys = { ArrowRight: rtl ? -1 : 1, ArrowLeft: rtl ? 1 : -1, ArrowUp: 1, ArrowDown: -1 };
    let next = null;
    if (event.key in keys) next = shift(keys[event.key]);
    else if (event.key === "PageUp") next = addMonths(current, 1);
    else if (event.key === "PageDown") next = addMonths(current, -1);
    else if (event.key === "Home") next = first;
    else if (event.key === "End") next = last;
    else if (event.key === " ") {
      event.preventDefault();
      if (timer === null) start();
      else stop();
      return;
    }
    if (next === null) return;
    event.preventDefault();
    stop();
    set(next, "key");
  });
  back.addEventListener("click", () => { stop(); set(shift(-1), "button"); });
  forward.addEventListener("click", () => { stop(); set(shift(1), "button"); });
  play.addEventListener("click", () => (timer === null ? start() : stop()));
  for (const button of stepButtons) {
    button.addEventListener("click", () => {
      unit = button.dataset.step;
      render();
      onStepChange?.(unit);
    });
  }

  render();
  return {
    get date() { return current; },
    get step() { return unit; },
    set,
    stop,
  };
}
