// The pages that mails link to. Each carries the mailed token in `?token=` and hands it to the
// API: verify-email.html at once (POST /auth/verify-email), reset-password.html with the new
// password the person types (POST /auth/password/reset). No framework: this is all they do.
"use strict";

const token = new URLSearchParams(window.location.search).get("token") || "";

function show(message, kind) {
  const status = document.getElementById("status");
  status.textContent = message;
  status.className = kind;
}

// The API answers problems as application/problem+json: show the `detail`, or the field errors.
async function problemText(response) {
  try {
    const problem = await response.json();
    const fields = Object.values(problem.errors || {}).flat();
    return fields.length > 0 ? fields.join(" ") : problem.detail;
  } catch {
    return `요청이 실패했습니다 (${response.status}).`;
  }
}

async function post(path, body) {
  return fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function verifyEmail() {
  if (!token) {
    show("링크에 인증 토큰이 없습니다. 메일의 링크를 다시 열어 주세요.", "error");
    return;
  }
  try {
    const response = await post("/auth/verify-email", { token });
    if (response.ok) {
      show("이메일 주소가 인증되었습니다. 이제 일자리에 지원하거나 공고를 올릴 수 있습니다.", "ok");
    } else if (response.status === 400) {
      show("인증 링크가 올바르지 않거나, 이미 사용되었거나, 만료되었습니다. 로그인한 뒤 인증 메일을 다시 받아 주세요.", "error");
    } else {
      show(await problemText(response), "error");
    }
  } catch {
    show("서버에 연결할 수 없습니다. 잠시 뒤 다시 시도해 주세요.", "error");
  }
}

function resetPassword() {
  const form = document.getElementById("reset");
  if (!token) {
    form.hidden = true;
    show("링크에 재설정 토큰이 없습니다. 메일의 링크를 다시 열어 주세요.", "error");
    return;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const newPassword = document.getElementById("new-password").value;
    if (newPassword !== document.getElementById("confirm-password").value) {
      show("두 비밀번호가 서로 다릅니다.", "error");
      return;
    }
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const response = await post("/auth/password/reset", { token, newPassword });
      if (response.status === 204) {
        form.hidden = true;
        show("비밀번호를 바꿨습니다. 모든 기기에서 새 비밀번호로 다시 로그인해 주세요.", "ok");
      } else if (response.status === 400) {
        form.hidden = true;
        show("재설정 링크가 올바르지 않거나, 이미 사용되었거나, 만료되었습니다. 비밀번호 찾기를 다시 요청해 주세요.", "error");
      } else {
        show(await problemText(response), "error");
      }
    } catch {
      show("서버에 연결할 수 없습니다. 잠시 뒤 다시 시도해 주세요.", "error");
    } finally {
      button.disabled = false;
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const pages = { "verify-email": verifyEmail, "reset-password": resetPassword };
  pages[document.body.dataset.page]?.();
});
